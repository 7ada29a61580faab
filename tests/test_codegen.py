"""--print-code and --print-curl: code that reproduces the run, and never a key."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from tests.cli_support import invoke
from tests.conftest import run_cli

PROMPT = "The capital of France is Paris. The capital of Germany is"
KEY = "sk-test-0123456789abcdef"


def summary_text(*args: str) -> str:
    proc = run_cli(*args, "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])["text"]


@pytest.mark.model
@pytest.mark.parametrize(
    "args",
    [
        ["complete", PROMPT, "-t", "0", "-n", "16"],
        ["fewshot", "translate", "--shots", "3", "--input", "cheese", "-t", "0"],
    ],
    ids=["complete", "fewshot"],
)
def test_the_printed_python_writes_what_gptplay_writes_greedily(model_path, tmp_path, args):
    printed = run_cli(*args, "--print-code")
    assert printed.returncode == 0, printed.stderr
    assert "from llama_cpp import Llama" in printed.stdout
    script = tmp_path / "run.py"
    script.write_text(printed.stdout)
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == summary_text(*args) + "\n"  # print() adds the last newline


def curl_body(text: str) -> dict:
    words = shlex.split(text.replace("\\\n", " "), comments=True)
    return json.loads(words[words.index("-d") + 1])


@pytest.mark.model
def test_the_curl_body_carries_every_setting(model_path):
    ran = invoke(
        "complete", PROMPT, "-t", "0.7", "--top-k", "7", "--stop", "\\n", "--seed", "3",
        "--print-curl",
    )  # fmt: skip
    assert ran.exit_code == 0 and ran.engine.loads == []  # nothing was loaded or run
    body = curl_body(ran.stdout)
    assert body["prompt"] == PROMPT and body["temperature"] == 0.7 and body["top_k"] == 7
    assert body["stop"] == ["\n"] and body["seed"] == 3 and body["max_tokens"] == 128
    assert "llama-server -m" in ran.stdout  # a GGUF file: how to serve it first


def test_a_server_key_is_named_never_printed(monkeypatch, user_dirs):
    monkeypatch.setenv("GPTPLAY_API_KEY", KEY)
    url = "http://user:hunter22@127.0.0.1:9"
    ran = invoke("complete", "hi", "--model", url, "--print-code", "--print-curl")
    assert ran.exit_code == 0, ran.error
    out = ran.stdout
    assert KEY not in out and "hunter22" not in out and "user:" not in out
    assert 'os.environ.get("GPTPLAY_API_KEY", "none")' in out
    assert 'Authorization: Bearer $GPTPLAY_API_KEY"' in out
    assert 'base_url="http://127.0.0.1:9/v1"' in out and "http://127.0.0.1:9/v1/completions" in out
    # an alias names its own variable and API path
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text(
        "[aliases]\nbox = { url = 'http://127.0.0.1:9', model = 'gemma', "
        "api_key_env = 'MY_KEY', api_path = '/api/v1' }\n"
    )
    monkeypatch.setenv("MY_KEY", KEY)
    ran = invoke("complete", "hi", "--model", "box", "--print-code", "--print-curl")
    assert ran.exit_code == 0, ran.error
    assert KEY not in ran.stdout and "$MY_KEY" in ran.stdout
    assert 'model="gemma"' in ran.stdout and "http://127.0.0.1:9/api/v1/completions" in ran.stdout


def test_the_code_carries_a_schema_as_its_grammar_and_the_logit_bias(tmp_path):
    # issue 21 with item 29: a constraint left out of the printed code would reproduce
    # another run
    from gptplay.codegen import Target, code
    from gptplay.settings import SamplingParams

    params = SamplingParams(
        temperature=0, json_schema='{"type": "object"}', logit_bias=(" positive=ban", "7=2")
    )
    text = code("python", "Q:", params, Target(model_path="m.gguf"))
    assert "grammar=LlamaGrammar.from_string(" in text and "object" in text
    assert 'llm.tokenize(" positive".encode(), add_bos=False, special=True)[0]: -100.0' in text
    assert "7: 2.0," in text
    compile(text, "printed.py", "exec")
