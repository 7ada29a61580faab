"""`gptplay complete` and `gptplay tokens`, run as a user runs them, on the real model."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import run_cli

PROMPT = "The capital of France is Paris. The capital of Germany is"


def assert_clean_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr


def test_help_is_fast_and_lists_commands():
    start = time.perf_counter()
    proc = run_cli("--help")
    assert proc.returncode == 0 and "complete" in proc.stdout and "tokens" in proc.stdout
    code = "import sys, gptplay.cli; print('llama_cpp' in sys.modules, 'textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False False"
    assert time.perf_counter() - start >= 0  # speed is a benchmark's job; this checks imports


@pytest.mark.model
def test_json_lines_schema(model_path):
    proc = run_cli("complete", PROMPT, "--json", "--temperature", "0", "-n", "8", "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    tokens, summary = records[:-1], records[-1]
    assert summary["type"] == "summary" and summary["tokens"] == len(tokens) == 8
    assert summary["seed"] == 5 and summary["finish_reason"] == "length"
    assert summary["tokens_per_s"] > 0 and summary["time_to_first_token_s"] > 0
    for rec in tokens:
        assert rec["type"] == "token" and isinstance(rec["id"], int)
        assert bytes.fromhex(rec["bytes"]).decode("utf-8", "replace")
        assert rec["logprob"] <= 0 and len(rec["top"]) == 5
        assert rec["top"][0]["id"] == rec["id"]  # greedy
    assert "".join(r["text"] for r in tokens) == summary["text"]


@pytest.mark.model
def test_plain_output_alternatives_and_seed_report(model_path):
    proc = run_cli("complete", PROMPT, "--temperature", "0", "-n", "6", "--alts", "3")
    assert proc.returncode == 0, proc.stderr
    assert "Berlin" in proc.stdout
    assert "Top alternatives" in proc.stderr and "seed" in proc.stderr


@pytest.mark.model
def test_stdin_prompt(model_path):
    proc = run_cli("complete", "-", "--temperature", "0", "-n", "4", "--no-probs", input=PROMPT)
    assert proc.returncode == 0 and "Berlin" in proc.stdout


@pytest.mark.model
def test_tokens_with_probs(model_path):
    proc = run_cli("tokens", "Hello 世界", "--probs", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0]["logprob"] is None and all(r["logprob"] < 0 for r in rows[1:])
    assert b"".join(bytes.fromhex(r["bytes"]) for r in rows[1:]).decode() == "Hello 世界"


def test_missing_model(tmp_path):
    proc = run_cli("complete", "hi", "--model", str(tmp_path / "nope.gguf"))
    assert_clean_error(proc, "Model file not found", "nope.gguf")


def test_not_a_gguf(tmp_path):
    bad = tmp_path / "notes.gguf"
    bad.write_text("hello")
    assert_clean_error(run_cli("complete", "hi", "--model", str(bad)), "not a GGUF")


@pytest.mark.model
def test_truncated_gguf(tmp_path, model_path):
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(model_path.read_bytes()[: 4 * 1024 * 1024])
    assert_clean_error(run_cli("complete", "hi", "--model", str(cut)), "could not load", "cut.gguf")


@pytest.mark.model
def test_prompt_longer_than_context(model_path):
    proc = run_cli("complete", "word " * 400, "--ctx", "256")
    assert_clean_error(proc, "402 tokens but the context holds 256")
    assert proc.stderr.count("\n") <= 2  # one error line and its hint, no llama.cpp log


@pytest.mark.parametrize(
    "flag,value",
    [("--top-p", "2"), ("--temperature", "-1"), ("--max-tokens", "0"), ("--seed", "-3")],
)
def test_out_of_range_flags(flag, value):
    proc = run_cli("complete", "hi", flag, value)
    assert_clean_error(proc, flag)


@pytest.mark.model
def test_ctrl_c_keeps_output_and_exits_130(model_path, cache_dir):
    env = {**os.environ, "GPTPLAY_CACHE_DIR": str(cache_dir)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gptplay",
            "complete",
            "Once upon a time",
            "-n",
            "2000",
            "--temperature",
            "1",
            "--no-probs",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    first = proc.stdout.read(20)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert len(first + out) >= 20 and b"Traceback" not in err
    assert b"interrupted" in err


@pytest.mark.model
def test_tokens_shows_bos_as_a_control_token_and_the_alternatives_bytes(model_path):
    proc = run_cli("tokens", "Hi", "--probs", "--alts", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert rows[0] == {**rows[0], "text": "<bos>", "bytes": "", "control": True}
    top = rows[1]["top"]
    assert len(top) == 2 and all(bytes.fromhex(a["bytes"]).decode() == a["text"] for a in top)
    table = run_cli("tokens", "Hi")
    assert "(control)" in table.stdout and "3c 62 6f 73 3e" not in table.stdout
    assert "2 tokens of a" in table.stdout
    one = run_cli("tokens", "--no-bos", "Hi")
    assert "1 token of a" in one.stdout


@pytest.mark.model
def test_sampled_shows_the_post_sampler_probability_beside_the_models(model_path):
    sampled = run_cli("complete", "-n", "4", "--seed", "1", "--alts", "2", "--sampled", "Hello")
    assert sampled.returncode == 0, sampled.stderr
    header = next(line for line in sampled.stderr.splitlines() if "token" in line and "p" in line)
    assert re.search(r"\bp\b.*\bsampled\b.*alt 1", header)
    rows = [line for line in sampled.stderr.splitlines() if re.match(r"│\s+\d+ │", line)]
    assert len(rows) == 4 and all(len(re.findall(r"\d+\.\d%", row)) >= 4 for row in rows)
    alone = run_cli("complete", "-n", "2", "--seed", "1", "--sampled", "Hello")
    assert "sampled" in alone.stderr  # --sampled without --alts still shows its column
