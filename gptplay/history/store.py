"""The history database: SQLite in WAL mode, versioned with PRAGMA user_version.

Each migration takes the schema from version N to N+1 and runs once, in a transaction;
a database of any earlier version is brought up to date when it is opened.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from gptplay.errors import GptplayError
from gptplay.secrets import redacted

DB_NAME = "history.db"
BUSY_TIMEOUT_S = 3.0
MAX_ID = 2**63 - 1  # SQLite's largest integer: no run id (and no LIMIT) is beyond it

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, and full-text search over their prompts and outputs
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        created REAL NOT NULL,
        command TEXT NOT NULL,
        task TEXT,
        prompt_hash TEXT,
        prompt TEXT NOT NULL,
        output TEXT NOT NULL DEFAULT '',
        model TEXT,
        model_path TEXT,
        model_size INTEGER,
        model_fingerprint TEXT,
        settings TEXT NOT NULL DEFAULT '{}',
        seed INTEGER,
        threads INTEGER,
        build TEXT,
        finish TEXT,
        n_tokens INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER,
        timings TEXT NOT NULL DEFAULT '{}',
        tokens BLOB,
        prompt_ids BLOB,
        conversation TEXT,
        extra TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX runs_created ON runs(created);
    CREATE VIRTUAL TABLE runs_fts USING fts5(
        prompt, output, content='runs', content_rowid='id'
    );
    CREATE TRIGGER runs_ai AFTER INSERT ON runs BEGIN
        INSERT INTO runs_fts(rowid, prompt, output) VALUES (new.id, new.prompt, new.output);
    END;
    CREATE TRIGGER runs_ad AFTER DELETE ON runs BEGIN
        INSERT INTO runs_fts(runs_fts, rowid, prompt, output)
        VALUES ('delete', old.id, old.prompt, old.output);
    END;
    """,
    # 2: a TUI continue or branch names the run it grew from, and keeps the tokens of the
    # branch before it (with their probabilities) so a reopened run shows them as they were
    """
    ALTER TABLE runs ADD COLUMN parent INTEGER;
    ALTER TABLE runs ADD COLUMN context_tokens BLOB;
    CREATE INDEX runs_conversation ON runs(conversation);
    """,
)
VERSION = len(MIGRATIONS)

COLUMNS = (
    ("created", "command", "task", "prompt_hash", "prompt", "output")
    + ("model", "model_path", "model_size", "model_fingerprint", "settings", "seed")
    + ("threads", "build", "finish", "n_tokens", "prompt_tokens", "timings", "tokens")
    + ("prompt_ids", "conversation", "extra", "parent", "context_tokens")
)
JSON_COLUMNS = ("settings", "timings", "extra")


class HistoryError(GptplayError):
    """The history database cannot be opened, read or written."""


@dataclass
class RunRow:
    """One recorded run as stored (tokens still encoded)."""

    values: dict = field(default_factory=dict)

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def db_path() -> Path:
    from gptplay.paths import data_dir

    return data_dir() / DB_NAME


def connect(path: Path | None = None, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the database; HistoryError when it cannot."""
    path = path or db_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        conn.text_factory = _text
    except (OSError, sqlite3.Error) as exc:
        raise HistoryError(f"{path}: cannot open the history database ({exc}).") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL never corrupts the database; a power cut may lose the last run.
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        raise HistoryError(f"{path}: {_reason(exc)}.") from None
    return conn


def _reason(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return (
            f"the history database is damaged ({text}); "
            "move it aside (a new one is made) or delete it"
        )
    return text


def migrate(conn: sqlite3.Connection, target: int = VERSION) -> int:
    """Apply the migrations after the database's user_version, up to ``target``."""
    version = _known_version(conn)
    while version < target:
        script = MIGRATIONS[version]
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current == version:
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def _known_version(conn: sqlite3.Connection) -> int:
    """The database's user_version, if it is one of ours; else sqlite3.DatabaseError.

    A version below 0 or above VERSION, or version 0 over tables already there, is a file
    another program (or a newer gptplay) made: no migration runs on it (MIGRATIONS[-1]
    would run the last one on a database it was never meant for).
    """
    # One statement, one snapshot: another process may be creating the tables meanwhile.
    version, tables = conn.execute(
        "SELECT (SELECT user_version FROM pragma_user_version), (SELECT group_concat(name, ', ') "
        "FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%')"
    ).fetchone()
    if version > VERSION:
        raise sqlite3.DatabaseError(
            f"the history database is version {version}, newer than this gptplay "
            f"({VERSION}): made by a newer gptplay or by another program"
        )
    if version < 0:
        raise sqlite3.DatabaseError(
            f"the history database has version {version}, which no gptplay writes: "
            "made by another program or a newer gptplay"
        )
    if version == 0 and tables:
        raise sqlite3.DatabaseError(
            f"the history database holds tables ({tables[:60]}) but no gptplay version: "
            "made by another program"
        )
    if version > 0:
        missing = _columns_at(version) - _columns(conn)
        if missing:
            raise sqlite3.DatabaseError(
                f"the history database is version {version} but its runs table lacks "
                f"{', '.join(sorted(missing)[:3])}: made by another program"
            )
    return version


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {r[1] for r in conn.execute("PRAGMA table_info(runs)").fetchall()}


@cache
def _columns_at(version: int) -> frozenset[str]:
    """The runs table's columns at ``version``: the migrations run in memory, once."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for script in MIGRATIONS[:version]:
            for statement in _statements(script):
                scratch.execute(statement)
        return frozenset(_columns(scratch))
    finally:
        scratch.close()


def _statements(script: str) -> Iterator[str]:
    """The script's statements one by one (triggers keep their inner semicolons)."""
    buf = ""
    for line in script.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""
    if buf.strip():
        yield buf.strip()


def insert(conn: sqlite3.Connection, record: dict) -> int:
    """Write one run; return its id. Keys and URL credentials never reach the file."""
    record = redacted(record)
    values = {k: record[k] for k in COLUMNS if record.get(k) is not None}  # else the default
    values.setdefault("created", time.time())
    for k in JSON_COLUMNS:
        values[k] = json.dumps(values.get(k) or {}, ensure_ascii=False)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with conn:
        cur = conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks})", list(values.values()))
    return int(cur.lastrowid)


def update_extra(conn: sqlite3.Connection, run_id: int, extra: dict) -> None:
    """Replace one run's ``extra`` (a chat turn's conversation after an /undo)."""
    text = json.dumps(redacted(extra), ensure_ascii=False)
    with conn:
        conn.execute("UPDATE runs SET extra = ? WHERE id = ?", (text, run_id))


def _row(cursor: sqlite3.Cursor, row: Sequence) -> RunRow:
    """The row as stored: JSON columns still text (history.checked reads them)."""
    return RunRow({d[0]: v for d, v in zip(cursor.description, row)})


def _text(data: bytes) -> str:
    """A TEXT value; bytes that are not UTF-8 (a byte flip) become surrogates, not an error
    that ends the whole listing (history.checked marks the run)."""
    return data.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Filters:
    """What `gptplay history` narrows the list to."""

    limit: int = 20
    task: str | None = None
    model: str | None = None
    command: str | None = None
    since: float | None = None
    conversation: str | None = None
    text: str | None = None  # substring of prompt or output (the TUI's filter as you type)


def list_runs(conn: sqlite3.Connection, f: Filters) -> list[RunRow]:
    """Runs newest first, narrowed by the filters."""
    where, args = [], []
    for column, value in (
        ("task", f.task),
        ("command", f.command),
        ("conversation", f.conversation),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if f.model is not None:
        where.append("(model LIKE ? OR model_path LIKE ?)")
        args += [f"%{f.model}%"] * 2
    if f.since is not None:
        where.append("created >= ?")
        args.append(f.since)
    if f.text:
        where.append(
            "(instr(lower(prompt), ?) OR instr(lower(output), ?) OR instr(lower(task), ?))"
        )
        args += [f.text.lower()] * 3
    sql = "SELECT *, NULL AS rank FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created DESC, id DESC LIMIT ?"
    cur = conn.execute(sql, [*args, f.limit])
    return [_row(cur, r) for r in cur.fetchall()]


def search(conn: sqlite3.Connection, text: str, limit: int = 20) -> list[RunRow]:
    """Runs whose prompt or output match ``text`` (FTS5; words are ANDed), best first."""
    query = " ".join('"' + w.replace('"', '""') + '"' for w in text.split())
    if not query:
        return []
    cur = conn.execute(
        "SELECT runs.*, bm25(runs_fts) AS rank FROM runs_fts JOIN runs ON runs.id = runs_fts.rowid "
        "WHERE runs_fts MATCH ? ORDER BY rank, runs.created DESC LIMIT ?",
        (query, limit),
    )
    return [_row(cur, r) for r in cur.fetchall()]


def get(conn: sqlite3.Connection, run_id: int) -> RunRow | None:
    cur = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,))
    row = cur.fetchone()
    return None if row is None else _row(cur, row)


def latest_in_conversation(conn: sqlite3.Connection, conversation: str) -> RunRow | None:
    cur = conn.execute(
        "SELECT * FROM runs WHERE conversation = ? ORDER BY created DESC, id DESC LIMIT 1",
        (conversation,),
    )
    row = cur.fetchone()
    return None if row is None else _row(cur, row)


def delete(conn: sqlite3.Connection, run_id: int) -> bool:
    with conn:
        cur = conn.execute("DELETE FROM runs WHERE id = ?", (run_id,))
    return cur.rowcount > 0


def clear(conn: sqlite3.Connection) -> int:
    with conn:
        n = conn.execute("DELETE FROM runs").rowcount
    conn.execute("VACUUM")
    return n


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM runs").fetchone()[0])
