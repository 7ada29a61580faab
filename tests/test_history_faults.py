"""A hostile history (issue 24 items 6-8): odd ids and filters, tampered rows, zlib bombs,
foreign databases. Each is one line naming the problem, never a traceback or a hang."""

from __future__ import annotations

import json
import math

import pytest

from gptplay.history import runs
from tests.cli_support import invoke
from tests.conftest import run_cli
from tests.test_history import record_fake

HUGE = "9" * 5000
BAD_IDS = ["99999999999999999999", "9223372036854775808", "²", "٣", HUGE, "-1", "0", "1e3"]


def short(value: str) -> str:
    return value if len(value) < 24 else f"{value[:6]}-{len(value)}-chars"


def _usage_error(ran, *words: str) -> None:
    assert ran.exit_code == 2, (ran.exit_code, ran.stdout[-300:], ran.error)
    assert ran.error is not None and "\n" not in ran.error and len(ran.error) < 200, ran.error
    for word in words:
        assert word in ran.error, ran.error


# ---- item 6: ids and filters ------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS, ids=short)
@pytest.mark.parametrize("command", [["history", "show"], ["history", "delete"], ["replay"]])
def test_an_id_that_is_not_a_run_id_is_one_line_exit_2(command, bad):
    record_fake()
    _usage_error(invoke(*command, "--", bad), "is not a run id")


@pytest.mark.parametrize(
    "bad", ["99999999999999999999", "²", HUGE, "1,99999999999999999999"], ids=short
)
def test_compare_runs_with_an_id_that_is_not_a_run_id_is_one_line(bad):
    _usage_error(invoke("compare", "--runs", bad), "--runs", "is not a run id")


@pytest.mark.parametrize("bad", ["9223372036854775808", str(2**64), HUGE, "²", "0"], ids=short)
@pytest.mark.parametrize("command", [["history"], ["history", "search", "otter"]])
def test_a_limit_beyond_sqlite_is_one_line(command, bad):
    record_fake()
    _usage_error(invoke(*command, "-n", bad), "-n", "is not a count of runs")


@pytest.mark.parametrize("since", ["9" * 400 + "d", "9" * 12 + "w", "²d", HUGE], ids=short)
def test_since_far_beyond_any_date_is_one_line(since):
    record_fake()
    _usage_error(invoke("history", "--since", since), "--since")


def test_since_the_year_1_is_a_date_and_lists_every_run():
    first, second = record_fake(), record_fake()
    ran = invoke("history", "--since", "0001-01-01", "--json")
    assert ran.exit_code == 0, ran.error
    assert ran.stdout.count("\n") == 2 and f'"id": {first}' in ran.stdout
    assert f'"id": {second}' in invoke("history", "-n", str(2**63 - 1), "--json").stdout


def test_chat_resume_of_a_non_ascii_digit_is_no_such_chat():
    with pytest.raises(runs.HistoryError, match="no recorded chat '²'"):
        from gptplay.history import recorded_conversation

        recorded_conversation("²")


def test_the_real_cli_prints_one_line_for_a_huge_id():
    r = run_cli("history", "show", HUGE, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.startswith("error: ID '999") and len(r.stderr) < 300, r.stderr


# ---- item 7: rows are data from disk ------------------------------------------------------


def _tamper(run_id: int, column: str, value: object) -> None:
    import sqlite3

    from gptplay.history import store

    conn = sqlite3.connect(store.db_path())
    with conn:
        conn.execute(f"UPDATE runs SET {column} = ? WHERE id = ?", (value, run_id))
    conn.close()


def _bomb(size: int = 300 * 2**20) -> bytes:
    """A zlib bomb: ``size`` bytes of our version byte and zeros, compressed about 1000:1."""
    import zlib

    z = zlib.compressobj(9)
    chunk = bytes(2**20)
    parts = [z.compress(b"\x01")] + [z.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + z.flush()


def _tokens(events) -> bytes:
    from gptplay.history import codec

    return codec.encode(events)


TAMPERED = {
    "settings-not-json": ("settings", "{not json", "settings is not JSON"),
    "settings-a-list": ("settings", "[1, 2]", "settings is JSON list, not an object"),
    "settings-nan": ("settings", '{"top": NaN}', "settings is not JSON"),
    "settings-top-text": ("settings", '{"top": "five"}', "settings.top is a str"),
    "extra-a-list": ("extra", "[1]", "extra is JSON list, not an object"),
    "extra-label-a-number": ("extra", '{"label": 5}', "extra.label is a int"),
    "timings-text": ("timings", '{"elapsed_s": "slow"}', "timings.elapsed_s is a str"),
    "extra-deep": ("extra", "[" * 100_000 + "]" * 100_000, "extra is not JSON"),
    "created-1e300": ("created", 1e300, "created is 1e+300, not a time"),
    "created-text": ("created", "yesterday", "created is str of 9, not a time"),
    "seed-text": ("seed", "seven", "seed is a str of 5, not a whole number"),
    "prompt-a-blob": ("prompt", b"\xff\xfe", "prompt is a bytes of 2, not text"),
    "tokens-not-ours": ("tokens", b"\x00\x11\x22\x33", "tokens: not compressed token data"),
    "tokens-text": ("tokens", "hello", "tokens: token data is a str, not bytes"),
    "tokens-bomb": ("tokens", "BOMB", "tokens: token data inflates to more than 32 MiB"),
    "prompt-ids-bomb": ("prompt_ids", "BOMB", "prompt_ids: token ids inflates to more than"),
    "tokens-long-varint": ("tokens", "VARINT", "tokens: a number in the token data is longer"),
    "tokens-nan": ("tokens", "NAN", "tokens: a log-probability in the token data is nan"),
    "tokens-trailing": ("tokens", "TRAILING", "tokens: 3 bytes after the last token"),
    "context-bad-utf8": ("context_tokens", "UTF8", "context_tokens: token text is not UTF-8"),
}


def _blob(kind: object) -> object:
    import struct
    import zlib

    from gptplay.engine.types import TokenEvent

    if kind == "BOMB":
        return _bomb()
    if kind == "VARINT":
        return zlib.compress(b"\x01" + b"\xff" * 1_000_000 + b"\x01")
    if kind == "NAN":
        good = zlib.decompress(_tokens([TokenEvent(5, b"a", "a", -0.5)]))
        return zlib.compress(good.replace(struct.pack("<f", -0.5), struct.pack("<f", math.nan)))
    if kind == "TRAILING":
        return zlib.compress(zlib.decompress(_tokens([TokenEvent(5, b"a", "a", -0.5)])) + b"xyz")
    if kind == "UTF8":
        # one piece (id 5: zigzag 10) of the byte 0xff, one token of it without its own text
        return zlib.compress(bytes([1, 2, 10, 2, 0xFF, 2, 0, 10, 0]))  # counts zigzag too
    return kind


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_row_is_marked_in_the_list_and_one_line_to_show(case):
    column, value, words = TAMPERED[case]
    good, bad, newer = record_fake(), record_fake(pieces=[" Lyon"]), record_fake()
    _tamper(bad, column, _blob(value))
    listed = invoke("history", "--json")
    assert listed.exit_code == 0, listed.error
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["id"] for r in rows] == [newer, bad, good] or column == "created"
    table = invoke("history")
    assert table.exit_code == 0 and "Paris." in table.stdout, table.error
    for command in (["history", "show", str(bad)], ["history", "show", str(bad), "--json"]):
        ran = invoke(*command)
        assert ran.exit_code == 1 and ran.error is not None, (ran.exit_code, ran.stdout[-300:])
        assert ran.error.startswith(f"run {bad} is damaged in the history: "), ran.error
        assert words in ran.error and len(ran.error) < 300, ran.error
    assert invoke("history", "show", str(good)).exit_code == 0
    if column not in ("tokens", "prompt_ids", "context_tokens"):  # the list reads no tokens
        [marked] = [r for r in rows if r["id"] == bad]
        assert any(words in d for d in marked["damaged"]), marked
        assert "damaged" in table.stdout


def test_a_damaged_run_is_one_line_to_replay_and_to_resume():
    bad = record_fake()
    _tamper(bad, "settings", "[]")
    ran = invoke("replay", str(bad))
    assert ran.exit_code == 1 and ran.error.startswith(f"run {bad} is damaged"), ran.error
    assert not ran.engine.loads  # refused before a model is loaded


def test_a_recorded_chat_turn_without_content_is_one_line_naming_the_run():
    from gptplay.history import recorded_conversation

    turn = record_fake(command="chat", conversation="c0ffee")
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant"}]
    _tamper(turn, "extra", json.dumps({"messages": messages}))
    for ref in ("c0ffee", str(turn)):
        with pytest.raises(runs.HistoryError, match=f"run {turn} is damaged.*messages.1."):
            recorded_conversation(ref)
    _tamper(turn, "extra", json.dumps({"messages": [{"role": "assistant", "content": "x"}]}))
    with pytest.raises(runs.HistoryError, match=f"run {turn}: messages.0..role is 'assistant'"):
        recorded_conversation("c0ffee")


def test_a_zlib_bomb_is_refused_within_the_size_limit():
    """300 MB inflated from ~300 KB: refused with the process well under 300 MB."""
    import resource

    from gptplay.history import codec

    blob = _bomb()
    assert len(blob) < 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(codec.CodecError, match="inflates to more than 32 MiB"):
        codec.decode(blob)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 120, grown_mib


def test_bytes_not_utf8_in_a_text_column_mark_the_row_and_the_rest_list():
    good, bad = record_fake(), record_fake()
    import sqlite3

    from gptplay.history import store

    conn = sqlite3.connect(store.db_path())
    with conn:
        conn.execute("UPDATE runs SET output = CAST(x'ff4c796f6e' AS TEXT) WHERE id = ?", (bad,))
    listed = invoke("history", "--json")
    assert listed.exit_code == 0, listed.error
    rows = {json.loads(x)["id"]: json.loads(x) for x in listed.stdout.splitlines()}
    assert rows[bad]["damaged"] == ["output is not UTF-8"] and "damaged" not in rows[good]
    assert invoke("history").exit_code == 0


# ---- item 8: a database of another program or a newer gptplay ---------------------------

FOREIGN = {
    "negative": "PRAGMA user_version = -1",
    "most-negative": "PRAGMA user_version = -2147483648",
    "newer": "PRAGMA user_version = 3",
    "largest": "PRAGMA user_version = 2147483647",
    "tables-but-no-version": "CREATE TABLE notes (body TEXT); CREATE TABLE runs (x)",
    "our-version-their-table": "CREATE TABLE runs (x); PRAGMA user_version = 2",
}


@pytest.mark.parametrize("case", FOREIGN)
def test_a_database_gptplay_did_not_make_is_refused_untouched(case, tmp_path):
    import sqlite3

    from gptplay.history import store
    from gptplay.history.record import write

    path = store.db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    sqlite3.connect(path).executescript(FOREIGN[case])
    schema = sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall()
    said: list[str] = []
    assert write({"command": "complete", "prompt": "p"}, said.append) is None
    assert len(said) == 1 and "made by " in said[0] and "another program" in said[0], said
    assert sqlite3.connect(path).execute("SELECT * FROM sqlite_master").fetchall() == schema
    listed = invoke("history")
    assert listed.exit_code == 1 and "another program" in listed.error, listed.error
    assert "\n" not in listed.error
