"""Reading recorded runs back: decoded tokens, a Completion as it was, JSON for --json."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gptplay.engine.types import Completion, TokenEvent
from gptplay.errors import UsageError, excerpt
from gptplay.history import checked, store
from gptplay.history.store import Filters, HistoryError
from gptplay.secrets import escape_controls

__all__ = ["Filters", "HistoryError", "StoredRun", "as_id", "opened", "parse_id"]


def as_id(text: str | int) -> int | None:
    """A run id as typed (ASCII digits, 1 up to SQLite's largest integer), else None."""
    if isinstance(text, int):
        return text if 0 < text <= store.MAX_ID else None
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(store.MAX_ID)):
        return None  # '²' is a digit to str.isdigit() but not to int(); 5,000 digits stop here
    value = int(text)
    return value if 0 < value <= store.MAX_ID else None


def parse_id(text: str | int, what: str = "ID") -> int:
    """A run id as typed, or a UsageError (exit 2) naming the value, trimmed."""
    value = as_id(text)
    if value is None:
        raise UsageError(
            f"{what} {excerpt(str(text))} is not a run id.",
            hint="a run id is a whole number from 1 up, as `gptplay history` lists them.",
        )
    return value


def preview(text: str, width: int) -> str:
    """The start of a text on one line (newlines as ↵, controls escaped), cut to ``width``."""
    flat = escape_controls(text.strip().replace("\n", "↵").replace("\t", "→"))
    return flat if len(flat) <= width else flat[: max(width - 1, 0)] + "…"


def scores_line(summaries: object) -> str:
    """An eval's summaries (ShotSummary as dicts) as one line: '0-shot accuracy 55.0% · ...'.

    The first metric is the headline one; a row that is not what we wrote is skipped.
    """
    parts = []
    for s in summaries if isinstance(summaries, list) else ():
        metrics = s.get("metrics") if isinstance(s, dict) else None
        if not isinstance(metrics, dict) or not metrics:
            continue
        name, value = next(iter(metrics.items()))
        mean = value[0] if isinstance(value, (list, tuple)) and value else None
        if isinstance(mean, (int, float)) and not isinstance(mean, bool):
            shown = f"{100 * mean:.1f}%" if 0 <= mean <= 1 else f"{mean:.3g}"
            parts.append(f"{s.get('shots', '?')}-shot {name} {shown}")
    return " · ".join(parts)


@dataclass(frozen=True)
class StoredRun:
    """One recorded run, its tokens decoded."""

    id: int
    created: float | None  # None: the stored value is not a time
    command: str
    task: str | None
    prompt: str
    output: str
    model: str | None
    model_path: str | None
    model_size: int | None
    model_fingerprint: str | None
    settings: dict
    seed: int | None
    threads: int | None
    build: str | None
    finish: str | None
    n_tokens: int
    prompt_tokens: int | None
    timings: dict
    conversation: str | None
    extra: dict
    parent: int | None
    prompt_hash: str | None
    events: tuple[TokenEvent, ...] = ()
    prompt_ids: tuple[int, ...] | None = None
    context: tuple[TokenEvent, ...] = ()  # a TUI continue/branch: the branch's earlier tokens
    damage: tuple[str, ...] = ()  # what is wrong with the stored row (empty: nothing)

    @classmethod
    def of(cls, row: store.RunRow, tokens: bool = True) -> StoredRun:
        """The row type-checked (history.checked); its tokens decoded when ``tokens``."""
        v, problems = checked.checked(row.values)
        # a list decodes only the earlier tokens of a continue or branch, for its preview
        decoded = checked.tokens(row.values, problems, () if tokens else ("context_tokens",))
        names = cls.__dataclass_fields__.keys() - {"events", "prompt_ids", "context", "damage"}
        values = {k: v.get(k) for k in names}
        return cls(**values, **decoded, damage=tuple(problems))

    def intact(self) -> StoredRun:
        """The run itself, or a HistoryError naming it and what is wrong with its row."""
        if not self.damage:
            return self
        more = f" (and {len(self.damage) - 2} more)" if len(self.damage) > 2 else ""
        raise HistoryError(
            f"run {self.id} is damaged in the history: {'; '.join(self.damage[:2])}{more}.",
            hint=f"`gptplay history delete {self.id}` removes it.",
        )

    @property
    def when(self) -> str:
        """Local time, to the second ('????-??-?? ??:??:??' for a time that is not one)."""
        if self.created is None:
            return "????-??-?? ??:??:??"
        return dt.datetime.fromtimestamp(self.created).strftime("%Y-%m-%d %H:%M:%S")

    @property
    def listed_command(self) -> str:
        """The command as a list shows it; a variant of `gptplay compare` adds its
        comparison (the group id's first 6 characters) and label: `compare 3b7cb3 one-shot`."""
        group = (self.extra or {}).get("comparison")
        if not group:
            return self.command
        return f"{self.command} {group[:6]} {self.extra.get('label', '')}"

    @property
    def listed_text(self) -> str:
        """What a list previews: the text as the run shows it (a TUI continue's or branch's
        earlier tokens first), the prompt when there is no output, an eval's scores line."""
        if self.command == "eval":
            return scores_line(self.extra.get("summaries")) or f"eval of {self.task or '?'}"
        text = "".join(e.text for e in self.context) + self.output
        return text if text.strip() else self.prompt

    @property
    def listed_finish(self) -> str:
        """How a run ended, as a list shows it: 'damaged' for a row that is not all there."""
        return "damaged" if self.damage else self.finish or ""

    def completion(self) -> Completion:
        """The run's summary as the engine reported it."""
        t = self.timings or {}
        unshown = t.get("unshown_tokens")
        return Completion(
            tokens=self.n_tokens,
            prompt_tokens=self.prompt_tokens or 0,
            finish_reason=self.finish or "",
            seed=self.seed if self.seed is not None else 0,
            model=self.model or "",
            elapsed_s=float(t.get("elapsed_s") or 0.0),
            time_to_first_token_s=t.get("time_to_first_token_s"),
            text=self.output,
            events=self.events,
            cached_tokens=int(t.get("cached_tokens") or 0),
            generated=self.n_tokens + unshown if isinstance(unshown, int) else None,
            **self.verdicts(),
        )

    def verdicts(self) -> dict[str, object]:
        """The grammar's and the schema's verdicts as recorded (none: no constraint)."""
        x = self.extra or {}  # typed by history.checked: a wrong type is dropped there
        out: dict[str, object] = {}
        if "grammar_complete" in x:
            out.update(complete=x["grammar_complete"], refused=x.get("grammar_refused", 0))
        if "schema_valid" in x:
            out.update(schema_valid=x["schema_valid"], schema_problem=x.get("schema_problem", ""))
        return out

    def summary_json(self) -> dict:
        """What `gptplay history --json` prints per run."""
        when = None
        if self.created is not None:
            when = dt.datetime.fromtimestamp(self.created).astimezone().isoformat()
        return {
            "id": self.id,
            "time": when,
            "command": self.command,
            "task": self.task,
            "model": self.model,
            "finish": self.finish,
            "tokens": self.n_tokens,
            "seed": self.seed,
            "conversation": self.conversation,
            "prompt": self.prompt,
            "output": self.output,
            **({"damaged": list(self.damage)} if self.damage else {}),
        }

    def to_json(self) -> dict:
        """Everything recorded but the tokens (the CLI adds them in its JSON Lines schema)."""
        return {
            **self.summary_json(),
            "prompt_hash": self.prompt_hash,
            "model_path": self.model_path,
            "model_size": self.model_size,
            "model_fingerprint": self.model_fingerprint,
            "settings": self.settings,
            "threads": self.threads,
            "build": self.build,
            "prompt_tokens": self.prompt_tokens,
            "timings": self.timings,
            "parent": self.parent,
            "extra": self.extra,
            "prompt_ids": list(self.prompt_ids) if self.prompt_ids is not None else None,
        }


@contextmanager
def opened(path: Path | None = None) -> Iterator:
    """A connection for reading or managing the history; HistoryError names the problem."""
    import sqlite3

    conn = store.connect(path)
    try:
        yield conn
    except sqlite3.Error as exc:
        raise HistoryError(f"{path or store.db_path()}: {exc}.") from None
    finally:
        conn.close()


def load(run_id: int, path: Path | None = None) -> StoredRun:
    """One run; HistoryError when there is no such run."""
    with opened(path) as conn:
        row = store.get(conn, run_id)
    if row is None:
        raise HistoryError(
            f"there is no run {run_id} in the history.", hint="`gptplay history` lists the runs."
        )
    return StoredRun.of(row).intact()


def listing(filters: Filters, path: Path | None = None) -> list[StoredRun]:
    with opened(path) as conn:
        return [StoredRun.of(r, tokens=False) for r in store.list_runs(conn, filters)]


def search(text: str, limit: int = 20, path: Path | None = None) -> list[StoredRun]:
    with opened(path) as conn:
        return [StoredRun.of(r, tokens=False) for r in store.search(conn, text, limit)]


def latest_turn(conversation: str, path: Path | None = None) -> StoredRun | None:
    """The last recorded turn of a chat conversation (its messages are in ``extra``)."""
    with opened(path) as conn:
        row = store.latest_in_conversation(conn, conversation)
    return None if row is None else StoredRun.of(row, tokens=False)
