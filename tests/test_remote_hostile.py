"""A hostile server: keys echoed back, terminal control codes, fields of the wrong type or
range, endless streams and dripping bytes. Each case is one line, bounded in time, and no
key or URL credential reaches the terminal, the JSON output or the history."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from gptplay.engine.remote.check import Fields
from gptplay.engine.remote.transport import RemoteError
from tests.conftest import run_cli
from tests.remote_servers import OPENAI_MODELS, scripted_server, send_event, send_json, start_sse
from tests.test_remote_llama_server import PROPS, Recorder, prob_item

KEY = "sk-test-4f9a8b7c6d5e"
PASSWORD = "hunter2-pw-9931"


def llama_server(event=None, props=None, completion=None):
    """The scripted llama-server, with its stream's events (or its /props) replaced."""

    class Hostile(Recorder):
        def __call__(self, req, path, body):
            if path == "/props" and props is not None:
                return props(req)
            if path == "/completion" and body.get("stream") and completion is not None:
                return completion(req, body)
            return super().__call__(req, path, body)

    return scripted_server(Hostile())


def stream_of(*events):
    def completion(req, body):
        start_sse(req)
        for e in events:
            send_event(req, e)

    return completion


def token(text: str, logprob: float = -0.2, **item) -> dict:
    data = text.encode()
    entry = {"id": 10, "token": text, "bytes": list(data), "logprob": logprob, **item}
    entry.setdefault("top_logprobs", [])
    return {"content": text, "tokens": [10], "stop": False, "completion_probabilities": [entry]}


END = {"content": "", "stop": True, "stop_type": "limit", "tokens_evaluated": 2}


def one_line_error(result, *needles: str, code: int = 1) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for needle in needles:
        assert needle in result.stderr, result.stderr


def alias(user_dirs: Path, url: str, **extra) -> str:
    user_dirs.mkdir(parents=True, exist_ok=True)
    fields = ", ".join(f"{k} = {json.dumps(v)}" for k, v in {"url": url, **extra}.items())
    (user_dirs / "config.toml").write_text(f"[aliases]\nsrv = {{ {fields} }}\n")
    return "srv"


def history_bytes(tmp_path: Path) -> bytes:
    db = next((tmp_path / "data").rglob("*.db"), None)
    assert db is not None, "the run was not recorded"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(FULL)")
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


# ---- secrets -------------------------------------------------------------------------


def test_a_401_that_echoes_the_key_does_not_print_it(user_dirs, monkeypatch):
    def echo(req, path, body):
        said = req.headers.get("Authorization", "")
        send_json(req, {"error": {"message": f"invalid key: {said}"}}, 401)

    monkeypatch.setenv("MY_KEY", KEY)
    with scripted_server(echo) as url:
        result = run_cli("complete", "x", "--model", alias(user_dirs, url, api_key_env="MY_KEY"))
    one_line_error(result, "401", "[redacted]")
    assert KEY not in result.stderr + result.stdout


def test_a_key_sent_back_in_tokens_or_a_mid_stream_error_stays_out_of_everything(
    user_dirs, tmp_path, monkeypatch
):
    monkeypatch.setenv("GPTPLAY_API_KEY", KEY)
    events = [token("the key is "), token(KEY), token(" ok"), END]
    with llama_server(completion=stream_of(*events)) as url:
        shown = run_cli("complete", "x", "--model", url, "-n", "3", "-t", "0", "--alts", "2")
        as_json = run_cli("complete", "x", "--model", url, "-n", "3", "-t", "0", "--json")
    with llama_server(completion=stream_of(token("a"), {"error": f"bad Bearer {KEY}"})) as url:
        failed = run_cli("complete", "x", "--model", url, "-n", "3")
    assert shown.returncode == 0 and as_json.returncode == 0, shown.stderr + as_json.stderr
    assert "the key is [redacted] ok" in shown.stdout
    one_line_error(failed, "mid-stream", "[redacted]")
    for out in (shown, as_json, failed):
        assert KEY not in out.stdout + out.stderr
    assert KEY.encode() not in history_bytes(tmp_path)


def test_credentials_in_the_url_become_a_header_and_are_never_shown_or_stored(user_dirs, tmp_path):
    seen = []
    server = Recorder()

    def handler(req, path, body):
        seen.append(req.headers.get("Authorization"))
        return server(req, path, body)

    with scripted_server(handler) as url:
        secret_url = url.replace("http://", f"http://bob:{PASSWORD}@")
        result = run_cli("complete", "x", "--model", secret_url, "-n", "1", "--json")
    assert result.returncode == 0, result.stderr
    assert seen[0].startswith("Basic ") and all(s == seen[0] for s in seen)
    assert "api_key_env" in result.stderr  # said once that the environment is the better place
    assert json.loads(result.stdout.splitlines()[-1])["model"].endswith(f"@ {url}")
    stored = history_bytes(tmp_path)
    for leak in (PASSWORD, "bob:", seen[0].split()[1]):
        assert leak not in result.stdout + result.stderr
        assert leak.encode() not in stored


# ---- terminal control characters ----------------------------------------------------


def test_control_characters_from_a_server_are_shown_escaped(user_dirs):
    clear, title = "\x1b[2J", "\x1b]0;owned\x07"
    events = [token(f"a{clear}"), token(f"b{title}"), END]
    with llama_server(completion=stream_of(*events)) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "2", "--alts", "1")
    models = {"object": "list", "data": [{"id": f"evil{clear}", "owned_by": "x"}]}

    def refuse(req, path, body):
        if path == "/v1/models":
            return send_json(req, models)
        send_json(req, {"error": {"message": f"no{title}"}}, 400)

    with scripted_server(refuse) as url:
        refused = run_cli("complete", "x", "--model", url, "--ctx", "64")
    assert result.returncode == 0, result.stderr
    assert "\\x1b[2J" in result.stdout and "\\x1b]0;owned\\x07" in result.stdout
    one_line_error(refused, "no\\x1b]0;owned\\x07")
    for out in (result, refused):
        assert "\x1b[2J" not in out.stdout + out.stderr and "\x1b]0" not in out.stdout + out.stderr


# ---- every field checked at one boundary --------------------------------------------


def _raw(text: str):
    """An event written as raw text (NaN and Infinity are not JSON, so json.dumps is no use)."""

    def completion(req, body):
        start_sse(req)
        req.wfile.write(f"data: {text}\n\n".encode())

    return completion


def _id(value):
    return {
        "completion_probabilities": [{**token("a")["completion_probabilities"][0], "id": value}]
    }


BAD_STREAMS = {
    "a string id": (stream_of({**token("a"), "tokens": ["10"]} | _id("10")), "id = '10'"),
    "a string logprob": (stream_of(token("a", "x")), "logprob = 'x'"),
    "top not a list": (stream_of(token("a", top_logprobs="abc")), "top_logprobs = 'abc'"),
    "bytes out of range": (stream_of(token("a", bytes=[300])), "bytes = [300]"),
    "an event that is a list": (stream_of([1, 2]), "not a JSON object"),
    "a logprob of +50": (stream_of(token("a", 50.0)), "logprob = 50.0"),
    "a negative id": (stream_of(token("a", id=-4)), "id = -4"),
    "NaN": (_raw(json.dumps(token("a")).replace("-0.2", "NaN")), "NaN is not JSON"),
    "Infinity": (
        _raw(json.dumps(token("a")).replace("-0.2", "-Infinity")),
        "-Infinity is not JSON",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_STREAMS))
def test_a_bad_field_in_a_stream_is_one_line_naming_it(case, user_dirs):
    completion, needle = BAD_STREAMS[case]
    with llama_server(completion=completion) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "2", timeout=60)
    one_line_error(result, url, needle)


def test_nan_and_infinity_are_not_read_as_numbers():
    check = Fields("http://h")
    for bad in (float("nan"), float("inf"), 50.0, "x", True, None):
        with pytest.raises(RemoteError):
            check.logprob(bad)
    assert check.logprob(1e-4) == 0.0 and check.logprob(-3) == -3.0
    for bad in (-1, [4096], 0, "4096", 1 << 40):
        with pytest.raises(RemoteError):
            check.n_ctx(bad)


@pytest.mark.parametrize(
    "props, needle",
    [
        ({**PROPS, "default_generation_settings": {"n_ctx": -1}}, "n_ctx = -1"),
        ({**PROPS, "default_generation_settings": {"n_ctx": [2048]}}, "n_ctx = [2048]"),
        ({**PROPS, "default_generation_settings": ["x"]}, "default_generation_settings"),
        ({**PROPS, "total_slots": "2"}, "total_slots = '2'"),
    ],
)
def test_bad_server_settings_are_one_line(props, needle, user_dirs):
    with llama_server(props=lambda req: send_json(req, props)) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "1", timeout=60)
    one_line_error(result, needle)


def test_a_huge_content_length_is_refused_before_reading(user_dirs):
    def huge(req):
        req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(10**12))
        req.end_headers()
        req.wfile.write(b'{"default_generation_settings": {')

    with llama_server(props=huge) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "1", timeout=60)
    one_line_error(result, "1,000,000,000,000-byte answer")


def test_json_output_is_strict_even_for_a_zero_probability(user_dirs):
    zero = token("a")
    zero["completion_probabilities"][0] = prob_item(10, 0.0, True, [(10, 0.0), (11, 1.0)])
    with llama_server(completion=stream_of(zero, END)) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "1", "--sampled", "--json")
    assert result.returncode == 0, result.stderr

    def refuse(name):
        raise AssertionError(f"{name} in --json output")

    records = [json.loads(line, parse_constant=refuse) for line in result.stdout.splitlines()]
    assert records[0]["sampled_logprob"] is None


# ---- URLs and time bounds -----------------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "http://"])
def test_a_malformed_url_is_one_line_and_exit_2(url, user_dirs):
    result = run_cli("complete", "x", "--model", url, timeout=30)
    one_line_error(result, "is not a server URL", code=2)


def test_a_server_streaming_past_max_tokens_is_cut_there(user_dirs):
    def endless(req, body):
        start_sse(req)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                send_event(req, token("a"))
        except OSError:
            pass  # the client closed: as it should

    with llama_server(completion=endless) as url:
        start = time.monotonic()
        result = run_cli("complete", "x", "--model", url, "-n", "5", "--json", timeout=50)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["tokens"] == 5 and summary["finish_reason"] == "length"
    assert time.monotonic() - start < 45  # well before the server would stop on its own


def _drip(req, head: bytes, seconds: float = 40) -> None:
    """Write ``head``, then one byte every half second: each read is quick, the whole never ends."""
    try:
        req.wfile.write(head)
        req.wfile.flush()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            req.wfile.write(b"x")
            req.wfile.flush()
            time.sleep(0.5)
    except OSError:
        pass


@pytest.mark.parametrize("where", ["headers", "an event line"])
def test_a_server_dripping_bytes_fails_at_the_timeout(where, user_dirs):
    def completion(req, body):
        if where == "headers":
            return _drip(req, b"HTTP/1.1 200 OK\r\nX-Slow: ")
        start_sse(req)
        send_event(req, token("a"))
        _drip(req, b"data: {")

    with llama_server(completion=completion) as url:
        start = time.monotonic()
        result = run_cli("complete", "x", "--model", alias(user_dirs, url, timeout=2), timeout=35)
    took = time.monotonic() - start
    one_line_error(result, "within 2 s")
    assert took < 30  # bounded by the 2-second timeout, not by the server's 40 s of drip


def test_a_server_at_another_api_path_is_one_setting(user_dirs):
    def handler(req, path, body):
        if path == "/api/v1/models":
            return send_json(req, OPENAI_MODELS)
        if path == "/api/v1/completions":
            return (
                send_json(
                    req, {"choices": [{"text": " fine", "finish_reason": "length", "index": 0}]}
                )
                if not body.get("stream")
                else stream_of(
                    {"choices": [{"text": " fine", "finish_reason": "length", "index": 0}]},
                    "[DONE]",
                )(req, body)
            )
        send_json(req, {"error": {"message": "no such route"}}, 404)

    with scripted_server(handler) as url:
        name = alias(user_dirs, url, api_path="/api/v1")
        result = run_cli("complete", "x", "--model", name, "--ctx", "64", "--no-probs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(" fine")


# ---- constraints and logit bias (issue 21) --------------------------------------------


@pytest.mark.parametrize(
    "n_vocab, needle",
    [
        ("lots", "meta.n_vocab = 'lots'"),
        (-1, "meta.n_vocab = -1"),
        (1 << 30, "meta.n_vocab = 1073741824"),
        (True, "meta.n_vocab = True"),
    ],
)
def test_a_bad_vocabulary_size_is_one_line_naming_it(n_vocab, needle, user_dirs):
    from tests.test_remote_steering import LlamaServer

    recorder = LlamaServer()
    recorder.n_vocab = n_vocab
    with scripted_server(recorder) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "1", "--logit-bias", "5=1")
    one_line_error(result, url, needle)


def test_a_bad_tokenizer_answer_for_a_bias_text_is_one_line(user_dirs):
    class BadTokenizer(Recorder):
        def __call__(self, req, path, body):
            if path == "/tokenize" and body.get("content") == " yes":
                return send_json(req, {"tokens": [{"id": "11", "piece": " yes"}]})
            return super().__call__(req, path, body)

    with scripted_server(BadTokenizer()) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "1", "--logit-bias", " yes=2")
    one_line_error(result, url, "tokens[].id = '11'")


def test_a_server_refusing_a_grammar_is_one_line(user_dirs):
    def refuse(req, body):
        if "grammar" not in body:  # llama-server parses the grammar it is sent
            return stream_of(token("a"), END)(req, body)
        error = {"code": 400, "message": "Failed to parse grammar", "type": "invalid_request_error"}
        send_json(req, {"error": error}, 400)

    with llama_server(completion=refuse) as url:
        result = run_cli("complete", "x", "--model", url, "-n", "2", "--grammar", 'root ::= "a"')
    one_line_error(result, "400 Bad Request: Failed to parse grammar")


@pytest.mark.parametrize("version", [["0.11.0"], 11, "banana", "9" * 40, ""])
def test_a_vllm_version_that_is_not_one_is_never_guessed_for_a_constraint(version, user_dirs):
    from tests.test_remote_steering import Vllm

    with scripted_server(Vllm(version)) as url:
        result = run_cli("complete", "The sky", "--model", url, "--choice", "blue,grey")
        plain = run_cli("complete", "The sky", "--model", url, "-n", "2")
    one_line_error(result, "gave no version gptplay can read (GET /version)", code=2)
    assert plain.returncode == 0, plain.stderr  # the version matters to constraints only
