"""The run history, in-process: encoding, schema and migrations, concurrency, failures, the CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from gptplay import history
from gptplay.cli import app
from gptplay.engine.fake import FakeEngine
from gptplay.engine.types import Alternative, SamplingParams, TokenEvent
from gptplay.history import codec, runs, store
from gptplay.history.record import build, write


def event(i: int, text: str, top: int = 5) -> TokenEvent:
    data = text.encode()
    alts = tuple(Alternative(i * 7 + k, f"a{k}".encode(), -0.1 * (k + 1)) for k in range(top))
    return TokenEvent(i, data, text, -0.25 - i / 1000, alts)


def fake_run(engine: FakeEngine, prompt: str, pieces: list[str], seed: int = 7):
    engine.enqueue(pieces)
    stream = engine.stream(prompt, SamplingParams(seed=seed, max_tokens=32))
    return stream.run()


def record_fake(prompt="The capital of France is", pieces=(" Paris", "."), **fields) -> int:
    engine = FakeEngine()
    completion = fake_run(engine, prompt, list(pieces))
    settings = history.settings_dict(SamplingParams(seed=7, max_tokens=32), engine, top=5)
    command = fields.pop("command", "complete")
    run_id = write(build(command, prompt, engine, settings, completion, **fields))
    assert run_id is not None
    return run_id


# ---- the token encoding -------------------------------------------------------------


def test_codec_round_trip_keeps_ids_bytes_text_and_logprobs():
    split = "é".encode()  # one character split over two tokens
    events = [
        event(5, " Hello"),
        TokenEvent(9, split[:1], "", -1.5, (Alternative(9, split[:1], -1.5),)),
        TokenEvent(10, split[1:], "é", -0.01, ()),
        TokenEvent(11, b"\xff", "", None, ()),  # probabilities off; an invalid byte
        TokenEvent(-1, b"", "\ufffd", None, ()),  # the decoder's tail
        TokenEvent(12, b"x", "x", -0.3, (), -0.2, (Alternative(12, b"x", -0.2),)),
    ]
    back = codec.decode(codec.encode(events))
    assert [(e.id, e.bytes, e.text) for e in back] == [(e.id, e.bytes, e.text) for e in events]
    for a, b in zip(events, back):
        assert (a.logprob is None) == (b.logprob is None)
        if a.logprob is not None:
            assert math.isclose(a.logprob, b.logprob, rel_tol=1e-6)
        assert [(x.id, x.bytes) for x in a.top] == [(x.id, x.bytes) for x in b.top]
        assert [round(x.logprob, 5) for x in a.top] == [round(x.logprob, 5) for x in b.top]
        assert a.sampled_logprob == pytest.approx(b.sampled_logprob)
        assert len(a.sampled_top) == len(b.sampled_top)


def test_codec_rejects_other_bytes():
    with pytest.raises(codec.CodecError):
        codec.decode(b"not zlib")
    with pytest.raises(codec.CodecError):
        codec.decode(codec.encode([event(1, "a")])[:-4] + b"\0\0\0\0")
    assert codec.decode_ids(codec.encode_ids([2, 262143, 0, 5])) == [2, 262143, 0, 5]


def test_a_256_token_run_with_top5_is_well_under_50kb():
    import random

    rng = random.Random(0)
    vocab = [rng.randrange(262144) for _ in range(900)]  # a run reuses a few hundred pieces
    events = []
    for _ in range(256):
        ids = rng.sample(vocab, 6)
        alts = tuple(Alternative(t, f" w{t}".encode(), -rng.random() * 6) for t in ids[1:])
        piece = f" w{ids[0]}"
        events.append(TokenEvent(ids[0], piece.encode(), piece, -rng.random(), alts))
    size = len(codec.encode(events))
    assert size < 25_000, size


# ---- the database ---------------------------------------------------------------------


def test_the_token_count_is_that_of_the_stored_tokens(tmp_path):
    # a stop string cut a generated token: the run shows (and stores) what was kept
    engine = FakeEngine()
    completion = fake_run(engine, "Q:", [" yes", "."])
    completion = dataclasses.replace(completion, tokens=completion.tokens + 1)
    settings = history.settings_dict(SamplingParams(seed=7, max_tokens=32), engine, top=5)
    run = runs.load(write(build("complete", "Q:", engine, settings, completion)))
    assert run.n_tokens == len(run.events) == 2


def test_a_run_is_recorded_with_its_model_settings_and_tokens(tmp_path):
    run_id = record_fake(task="translate", prompt_file=None)
    run = runs.load(run_id)
    assert run.command == "complete" and run.task == "translate"
    assert run.prompt == "The capital of France is" and run.output == " Paris."
    assert [e.text for e in run.events] == [" Paris", "."]
    assert run.settings["seed"] == 7 and run.settings["top"] == 5 and run.seed == 7
    assert run.build == "fake" and run.finish == "stop" and run.n_tokens == 2
    from gptplay.cli.replay import recorded_settings

    again = recorded_settings(run, threads=None)
    assert again.sampling() == SamplingParams(seed=7, max_tokens=32)
    conn = sqlite3.connect(store.db_path())
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.VERSION


def test_the_database_lives_in_the_test_data_dir(tmp_path):
    record_fake()
    assert store.db_path() == tmp_path / "data" / "history.db"
    assert store.db_path().exists()


def test_migration_from_version_1_keeps_runs_and_search(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    assert store.migrate(conn, target=1) == 1
    conn.execute(
        "INSERT INTO runs (created, command, prompt, output) VALUES (?, ?, ?, ?)",
        (time.time(), "complete", "an old prompt about otters", " they swim"),
    )
    conn.close()
    conn = store.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store.VERSION == 2
    [row] = store.search(conn, "otters")
    assert row.parent is None and row.output == " they swim"
    assert store.insert(conn, {"command": "complete", "prompt": "new", "parent": row.id}) == 2


def test_a_newer_database_is_refused_with_one_warning(tmp_path):
    path = tmp_path / "newer.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {store.VERSION + 1}")
    said = []
    assert write({"command": "complete", "prompt": "p"}, said.append, path) is None
    assert len(said) == 1 and "newer than this gptplay" in said[0]


@pytest.mark.parametrize("damage", ["corrupt", "locked", "unwritable"])
def test_a_bad_database_gives_one_warning_and_no_error(tmp_path, damage):
    path = tmp_path / "db" / "history.db"
    path.parent.mkdir()
    holder = None
    if damage == "corrupt":
        path.write_bytes(b"this is not a database, just bytes " * 200)
    elif damage == "locked":
        store.connect(path).close()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    else:
        path = tmp_path / "a-file" / "history.db"
        (tmp_path / "a-file").write_text("a file where the directory should be")
    said = []
    record = {"command": "complete", "prompt": "p"}
    for _ in range(2):
        assert write(record, said.append, path, timeout=0.2) is None
    assert len(said) == 1 and said[0].startswith("history: this run was not recorded: ")
    assert "\n" not in said[0]
    if holder is not None:
        holder.execute("ROLLBACK")
        assert write(record, said.append, path) is not None


WRITER = textwrap.dedent(
    """
    import sys
    from gptplay.history.record import write
    for i in range(int(sys.argv[2])):
        assert write({"command": "complete", "prompt": sys.argv[1] + str(i)}) is not None
    """
)


def test_two_processes_writing_at_once_both_land(tmp_path):
    n = 40
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, name, str(n)], stderr=subprocess.PIPE)
        for name in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    conn = store.connect()
    prompts = {row[0] for row in conn.execute("SELECT prompt FROM runs")}
    assert prompts == {f"{name}{i}" for name in "ab" for i in range(n)}


def test_recording_marks_an_interrupted_run(tmp_path):
    engine = FakeEngine()
    engine.enqueue(["one", " two", " three"])
    stream = engine.stream("p", SamplingParams(seed=1))
    settings = history.settings_dict(SamplingParams(seed=1), engine)
    with pytest.raises(SystemExit), history.recording(stream, "complete", "p", engine, settings):
        for e in stream:
            if e.text == " two":
                break
        stream._events.close()  # what Ctrl-C leaves behind
        raise SystemExit(130)
    [run] = runs.listing(runs.Filters())
    assert run.finish == "interrupted"


def test_no_history_and_config_turn_recording_off(tmp_path, user_dirs):
    assert history.enabled() and not history.enabled(no_history=True)
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text("history = false\n")
    assert not history.enabled()
    (user_dirs / "config.toml").write_text('history = "no"\n')
    from gptplay.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="history must be true or false"):
        load_config()


def test_a_chat_turn_is_recorded_with_its_conversation():
    from gptplay.chat import ChatSession, choose_format

    engine = FakeEngine(n_ctx=8192)
    session = ChatSession(engine, choose_format(engine, None, None), SamplingParams(seed=3))
    session.on_reply = history.chat_recorder("chat")
    for text in ("Hello", "And again"):
        engine.enqueue([" Hi", " there"])
        session.send(text).finish()
    first_id = session.conversation_id
    session.reset()
    engine.enqueue([" New"])
    session.send("Start over").finish()
    turns = runs.listing(runs.Filters(command="chat"))
    assert [t.conversation for t in turns] == [session.conversation_id, first_id, first_id]
    last = runs.latest_turn(first_id)
    assert [m["content"] for m in last.extra["messages"]] == [
        "Hello",
        "Hi there",
        "And again",
        "Hi there",
    ]
    assert runs.load(last.id).prompt_ids[0] == 0  # the ids the model was given


# ---- the CLI, in-process ----------------------------------------------------------------


def cli(*args: str):
    result = CliRunner().invoke(app, list(args))
    return result


def test_history_list_filters_show_search_delete_clear():
    a = record_fake("Translate: cheese =>", [" fromage"], task="translate", command="fewshot")
    b = record_fake("The sea otter", [" swims", " well"])
    out = cli("history", "--json")
    assert out.exit_code == 0, out.output
    listed = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["id"] for r in listed] == [b, a]  # newest first
    assert [
        json.loads(x)["id"]
        for x in cli("history", "--task", "translate", "--json").stdout.split("\n")
        if x
    ] == [a]
    assert cli("history", "--command", "complete", "--json").stdout.count("\n") == 1
    assert cli("history", "-n", "1", "--json").stdout.count("\n") == 1
    assert cli("history", "--model", "fake", "--json").stdout.count("\n") == 2
    assert cli("history", "--since", "1h", "--json").stdout.count("\n") == 2
    assert cli("history", "--since", "2999-01-01", "--json").stdout == ""
    bad = cli("history", "--since", "yesterday-ish")
    assert bad.exit_code != 0
    table = cli("history").stdout
    assert "fromage" in table and "swims" in table

    shown = cli("history", "show", str(b), "--alts", "2")
    assert shown.exit_code == 0 and "The sea otter" in shown.stdout and "swims well" in shown.stdout
    assert "Top alternatives" in shown.stdout and "seed 7" in shown.stdout
    lines = cli("history", "show", str(b), "--json").stdout.splitlines()
    head, tokens = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert head["type"] == "run" and head["settings"]["max_tokens"] == 32
    assert [t["text"] for t in tokens] == [" swims", " well"] and len(tokens[0]["top"]) == 3

    found = [
        json.loads(x)["id"] for x in cli("history", "search", "otter", "--json").stdout.splitlines()
    ]
    assert found == [b]
    assert [
        json.loads(x)["id"]
        for x in cli("history", "search", "fromage", "--json").stdout.splitlines()
    ] == [a]

    assert cli("history", "delete", str(a)).exit_code == 0
    missing = cli("history", "show", str(a))
    assert isinstance(missing.exception, runs.HistoryError)  # main() prints it as one line
    assert cli("history", "clear", "--yes", "--json").stdout.strip() == '{"deleted": 1}'
    assert cli("history", "--json").stdout == ""


def test_show_of_a_missing_run_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gptplay", "history", "show", "99"], capture_output=True, text=True
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "there is no run 99 in the history" in proc.stderr


def test_eval_record_keeps_the_table():
    engine = FakeEngine()
    table = "shots  accuracy\n0      62.5"
    from gptplay.evaluate.report import ShotSummary

    # the shape `gptplay eval` records: dataclasses.asdict of its ShotSummary rows
    summary = ShotSummary(0, 1, 8, {"accuracy": (0.625, 0.0), "macro_f1": (0.5, 0.0)}, True)
    summaries = [dataclasses.asdict(summary)]
    run_id = history.record_eval(engine, "sst2", {"shots": [0]}, summaries, table)
    run = runs.load(run_id)
    assert run.command == "eval" and run.extra["table"] == table and run.finish == "done"
    assert run.output.startswith("0-shot accuracy 62.5%\n\n")  # the scores, then the table
    assert run.listed_text == "0-shot accuracy 62.5%"  # what a list's preview shows
    assert "62.5" in cli("history", "show", str(run_id)).stdout


def test_a_record_that_cannot_be_built_is_a_warning_not_an_error():
    said = []

    def broken() -> dict:
        raise ValueError("no such field")

    assert write(broken, said.append) is None
    assert len(said) == 1 and "no such field" in said[0]


def test_complete_then_replay_in_process_on_the_fake_engine():
    from tests.cli_support import invoke

    engine = FakeEngine()
    engine.enqueue([" Berlin", "."])
    ran = invoke("complete", "The capital of Germany is", "--seed", "5", "-t", "0.5", engine=engine)
    assert ran.exit_code == 0, ran.error
    [run] = runs.listing(runs.Filters())
    run = runs.load(run.id)
    assert run.settings["temperature"] == 0.5 and run.settings["model"] == "default"
    assert run.settings["top"] == 5 and run.output == " Berlin."
    engine.enqueue([" Berlin", "."])
    again = invoke("replay", str(run.id), "--json", engine=engine)
    assert again.exit_code == 0, again.error
    record = json.loads(again.stdout)
    assert record["identical"] is True and record["recorded_tokens"] == 2
    assert engine.params[-1] == engine.params[0]  # the same sampling settings and seed
    assert engine.loads[-1]["model"] == "default"
    engine.enqueue([" Bonn"])  # one token: the fake's ids go by position, so they part at 2
    differs = json.loads(invoke("replay", str(run.id), "--json", engine=engine).stdout)
    assert differs["identical"] is False and differs["first_difference"] == 1
    assert [r.command for r in runs.listing(runs.Filters())] == ["replay", "replay", "complete"]
    assert invoke("complete", "x", "--no-history", engine=engine).exit_code == 0
    assert len(runs.listing(runs.Filters())) == 3


def test_fewshot_and_piped_chat_in_process_are_recorded():
    from tests.cli_support import invoke

    engine = FakeEngine(n_ctx=8192)
    engine.enqueue([" fromage"])
    assert invoke("fewshot", "translate", "cheese", "-t", "0", engine=engine).exit_code == 0
    engine.enqueue([" Hi", " there"])
    assert invoke("chat", "--seed", "2", engine=engine, input="Hello\n").exit_code == 0
    chat, fewshot = (runs.load(r.id) for r in runs.listing(runs.Filters()))
    assert fewshot.command == "fewshot" and fewshot.task == "translate" and fewshot.prompt_hash
    assert fewshot.settings["temperature"] == 0 and fewshot.settings["shots"] == 3
    assert chat.command == "chat" and chat.conversation and chat.settings["seed"] == 2
    engine.enqueue([" Again"])
    resumed = invoke("chat", "--resume", chat.conversation, engine=engine, input="More\n")
    assert resumed.exit_code == 0, resumed.error
    latest = runs.latest_turn(chat.conversation)
    assert [m["content"] for m in latest.extra["messages"]] == [
        "Hello",
        "Hi there",
        "More",
        "Again",
    ]


def test_a_resumed_chat_comes_back_as_it_stood_after_an_undo():
    # issue 24 item 16: /undo of an (interrupted) exchange, then --resume brought it back
    from gptplay.chat import ChatSession, ScaffoldFormat
    from gptplay.chat.slash import handle
    from gptplay.library import load_prompt

    engine = FakeEngine(n_ctx=4096)
    s = ChatSession(engine, ScaffoldFormat(load_prompt("chat")), SamplingParams(seed=3))
    s.on_reply = history.chat_recorder("chat")
    s.on_edit = history.chat_editor()
    engine.enqueue([" Hi", " there"])
    handle(s, "Hello").reply(None).finish()
    engine.enqueue([" Once", " upon", " a", " time"])
    reply = handle(s, "Tell me a story").reply(None)
    next(iter(reply))
    reply.finish(interrupted=True)  # Ctrl-C: the partial reply is kept, and recorded
    turns = runs.listing(runs.Filters(conversation=s.conversation_id))
    assert [t.finish for t in turns] == ["interrupted", "stop"]
    handle(s, "/undo")
    for ref in (s.conversation_id, str(turns[0].id), str(turns[1].id)):
        conv, conversation_id = history.recorded_conversation(ref)
        assert [m.content for m in conv.messages] == ["Hello", "Hi there"], ref
        assert conversation_id == s.conversation_id
    # the interrupted turn's own record is kept as it ran
    assert runs.load(turns[0].id).extra["messages"][-1]["content"] == "Once"
    # a turn after the undo is the new state, and an undo of everything leaves nothing
    engine.enqueue([" Bye"])
    handle(s, "Goodbye").reply(None).finish()
    conv, _ = history.recorded_conversation(s.conversation_id)
    assert [m.content for m in conv.messages] == ["Hello", "Hi there", "Goodbye", "Bye"]
    handle(s, "/undo")
    handle(s, "/undo")
    conv, _ = history.recorded_conversation(s.conversation_id)
    assert conv.messages == []


def test_the_list_keeps_32_characters_of_output_at_80_columns():
    from gptplay.engine.fake import FakeEngine
    from tests.cli_support import invoke
    from tests.conftest import run_cli

    engine = FakeEngine()
    engine.enqueue([" Berlin.", " The", " capital", " of", " the", " United", " States"])
    assert invoke("complete", "The capital of Germany is", engine=engine).exit_code == 0
    engine.enqueue([" fromage", " blanc", " et", " du", " pain", " frais"])
    engine.enqueue([" le", " fromage", " blanc"])
    ran = invoke("compare", "translate", "--shots", "0,1", "--input", "cheese", engine=engine)
    assert ran.exit_code == 0, ran.error
    listed = run_cli("history", env={"COLUMNS": "80"}).stdout.splitlines()
    assert all(len(line.rstrip()) <= 80 for line in listed)
    assert any(" Berlin. The capital of the United" in line for line in listed), listed
    assert any(" fromage blanc et du pain frais" in line for line in listed), listed
    assert "·" not in "".join(listed)  # spaces are spaces in a preview
