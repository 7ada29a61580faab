"""The history on the real model, run as a user runs gptplay: record, show, search, replay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from gptplay.history import runs
from tests.conftest import run_cli

pytestmark = pytest.mark.model

PROMPT = "The capital of France is Paris. The capital of Germany is"


def only_run() -> runs.StoredRun:
    [run] = runs.listing(runs.Filters())
    return runs.load(run.id)


def test_complete_is_recorded_and_shown_as_it_was(model_path):
    proc = run_cli("complete", PROMPT, "--json", "-t", "0.7", "-n", "12", "--seed", "9")
    assert proc.returncode == 0, proc.stderr
    printed = [json.loads(line) for line in proc.stdout.splitlines()][:-1]
    run = only_run()
    assert run.command == "complete" and run.prompt == PROMPT and run.seed == 9
    assert run.settings["temperature"] == 0.7 and run.settings["max_tokens"] == 12
    assert run.model_size == model_path.stat().st_size and run.model_fingerprint
    assert run.build.startswith("llama-cpp-python") and run.threads == os.cpu_count()
    assert run.timings["tokens_per_s"] > 0 and run.finish == "length"

    shown = run_cli("history", "show", str(run.id), "--json")
    tokens = [json.loads(line) for line in shown.stdout.splitlines()[1:]]
    assert [t["id"] for t in tokens] == [t["id"] for t in printed]
    assert [t["bytes"] for t in tokens] == [t["bytes"] for t in printed]
    for a, b in zip(tokens, printed):
        assert a["logprob"] == pytest.approx(b["logprob"], abs=1e-5)
        assert [x["id"] for x in a["top"]] == [x["id"] for x in b["top"]]
    text = run_cli("history", "show", str(run.id), "--alts", "2").stdout
    assert run.output in text and "Top alternatives" in text and "seed 9" in text

    found = run_cli("history", "search", "Germany", "--json").stdout.splitlines()
    assert [json.loads(x)["id"] for x in found] == [run.id]
    assert run_cli("history", "search", "otters", "--json").stdout == ""
    assert run_cli("history", "delete", str(run.id)).returncode == 0
    assert run_cli("history", "--json").stdout == ""
    assert run_cli("history", "delete", str(run.id)).returncode == 2  # no such run: one line


def test_replay_runs_it_again_and_the_tokens_are_identical(model_path):
    assert run_cli("complete", PROMPT, "-t", "0.9", "-n", "8", "--seed", "4").returncode == 0
    run = only_run()
    replay = run_cli("replay", str(run.id))
    assert replay.returncode == 0, replay.stderr
    assert "identical: all 8 tokens came out the same" in replay.stderr
    assert replay.stdout.strip() == run.output.strip()
    again = runs.listing(runs.Filters(command="replay"))
    assert len(again) == 1 and again[0].output == run.output
    assert run_cli("history", "clear", "--yes").returncode == 0
    assert runs.listing(runs.Filters()) == []


def test_replay_says_when_the_thread_count_differs(model_path):
    assert run_cli("complete", PROMPT, "-t", "0", "-n", "4", "--threads", "1").returncode == 0
    run = only_run()
    assert run.threads == 1
    same = json.loads(run_cli("replay", str(run.id), "--json").stdout)
    assert same["identical"] is True and same["notes"] == []  # the recorded thread count
    with runs.opened() as conn:  # as if it had been recorded with another build
        conn.execute("UPDATE runs SET build = 'llama-cpp-python 0.0.1'")
    other = json.loads(run_cli("replay", str(run.id), "--threads", "2", "--json").stdout)
    assert any("thread count differs (recorded 1, now 2)" in n for n in other["notes"])
    assert any("build differs (recorded llama-cpp-python 0.0.1" in n for n in other["notes"])
    assert other["recorded_tokens"] == 4 and other["replayed_tokens"] == 4


def test_fewshot_tokens_and_chat_are_recorded(model_path):
    assert run_cli("fewshot", "translate", "--input", "cheese", "-t", "0").returncode == 0
    assert run_cli("tokens", "Hello world", "--probs", "--alts", "3").returncode == 0
    assert run_cli("tokens", "Hello world").returncode == 0  # no model call: not a run
    chat = run_cli("chat", "-n", "6", "--seed", "1", input="Hello there\n")
    assert chat.returncode == 0, chat.stderr
    chat_run, tokens_run, fewshot_run = (runs.load(r.id) for r in runs.listing(runs.Filters()))
    assert fewshot_run.task == "translate" and fewshot_run.prompt.endswith("cheese =>")
    assert fewshot_run.prompt_hash and fewshot_run.settings["shots"] == 3
    assert [e.text for e in tokens_run.events] == ["<bos>", "Hello", " world"]
    assert len(tokens_run.events[1].top) == 3 and tokens_run.events[1].logprob < 0
    assert chat_run.conversation and chat_run.extra["messages"][0]["content"] == "Hello there"
    assert chat_run.prompt_ids and chat_run.n_tokens >= 1
    again = run_cli("chat", "-n", "4", "--resume", chat_run.conversation, input="And now?\n")
    assert again.returncode == 0, again.stderr
    listed = run_cli("history", "--command", "chat", "--json").stdout.splitlines()
    assert [json.loads(x)["conversation"] for x in listed] == [chat_run.conversation] * 2
    resumed = runs.latest_turn(chat_run.conversation)
    said = [m["content"] for m in resumed.extra["messages"] if m["role"] == "user"]
    assert said == ["Hello there", "And now?"]


def test_no_history_and_history_false_record_nothing(model_path, user_dirs):
    assert run_cli("complete", "Hi", "-n", "2", "--no-history").returncode == 0
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text("history = false\n")
    assert run_cli("complete", "Hi", "-n", "2").returncode == 0
    assert runs.listing(runs.Filters()) == []


@pytest.mark.parametrize("damage", ["corrupt", "unwritable"])
def test_a_broken_database_warns_once_and_the_run_happens(model_path, tmp_path, damage):
    data = tmp_path / "broken"
    if damage == "corrupt":
        data.mkdir()
        (data / "history.db").write_bytes(b"garbage, not SQLite " * 100)
    else:
        data.write_text("a file where the data directory should be")
    proc = run_cli("complete", PROMPT, "-t", "0", "-n", "4", env={"GPTPLAY_DATA_DIR": str(data)})
    assert proc.returncode == 0 and "Berlin" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if "history" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: history: this run was not")
    assert "Traceback" not in proc.stderr


def test_an_interrupted_run_is_recorded_as_such(model_path, cache_dir):
    env = {**os.environ, "GPTPLAY_CACHE_DIR": str(cache_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gptplay", "complete", "Once upon a time", "-n", "2000", "-t", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    proc.stdout.read(20)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    run = only_run()
    assert run.finish == "interrupted" and 0 < run.n_tokens < 2000 and run.output


def test_an_eval_run_is_recorded_with_its_table(model_path, tmp_path):
    rows = [("a great, moving film", "positive"), ("dull and far too long", "negative")] * 2
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps({"sentence": s, "label": g}) + "\n" for s, g in rows))
    proc = run_cli("eval", "sst2", "--data", str(data), "--shots", "0,1", "--seeds", "1")
    assert proc.returncode == 0, proc.stderr
    run = only_run()
    assert run.command == "eval" and run.task == "sst2" and run.finish == "done"
    assert run.settings["shots"] == [0, 1] and run.settings["data"] == str(data)
    assert [s["shots"] for s in run.extra["summaries"]] == [0, 1]
    assert "accuracy %" in run.extra["table"] and "majority class" in run.extra["table"]
    shown = run_cli("history", "show", str(run.id)).stdout
    assert "accuracy %" in shown and "sst2 on dev.jsonl" in shown


def test_two_gptplay_processes_at_once_both_land(model_path, cache_dir):
    env = {**os.environ, "GPTPLAY_CACHE_DIR": str(cache_dir)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gptplay", "complete", text, "-n", "3", "-t", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for text in ("One two three", "Red green blue")
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0 and b"warning" not in err, err
    prompts = sorted(r.prompt for r in runs.listing(runs.Filters()))
    assert prompts == ["One two three", "Red green blue"]


def test_one_token_count_everywhere_and_the_stop_sequence_said_apart(model_path):
    # issue 24 item 20: the summary counted the tokens a stop sequence consumed, the token
    # records and replay did not ("8 tokens" then "the 6 tokens came out the same")
    args = ("complete", PROMPT, "-t", "0", "-n", "8", "--stop", ".")
    proc = run_cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    *tokens, summary = [json.loads(line) for line in proc.stdout.splitlines()]
    assert "".join(t["text"] for t in tokens) == summary["text"] == " Berlin"
    assert summary["tokens"] == len(tokens) == 1
    assert summary["unshown_tokens"] == 1  # the "." the stop sequence consumed
    plain = run_cli(*args)
    assert "1 token (+1 in the stop sequence) · " in plain.stderr
    run = runs.listing(runs.Filters())[0]
    assert run.n_tokens == 1
    replay = run_cli("replay", str(run.id))
    assert replay.returncode == 0, replay.stderr
    assert "1 token (+1 in the stop sequence) · " in replay.stderr
    assert "identical: the token came out the same" in replay.stderr  # one count: as the summary says
