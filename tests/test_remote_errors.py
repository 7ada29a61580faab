"""Servers that fail: a closed port, one that stalls, one that cuts the stream, error
statuses, no log-probabilities. Each is one line naming the server and the fix."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gptplay.engine.remote import connect
from gptplay.engine.remote.transport import RemoteError, StreamCutError
from gptplay.engine.types import SamplingParams
from tests.conftest import run_cli
from tests.remote_servers import (
    OPENAI_MODELS,
    free_port,
    scripted_server,
    send_event,
    send_json,
    start_sse,
)

PARAMS = SamplingParams(temperature=0.0, max_tokens=10)


def chunk(text: str, logprob: float = -0.5, finish: str | None = None) -> dict:
    lp = {
        "tokens": [text],
        "token_logprobs": [logprob],
        "top_logprobs": [{text: logprob}],
        "text_offset": [0],
    }
    return {"choices": [{"text": text, "index": 0, "logprobs": lp, "finish_reason": finish}]}


def openai_server(completions):
    """An OpenAI-compatible server: /v1/models, and /v1/completions through ``completions``."""

    def handle(req, path, body):
        if path == "/v1/models":
            send_json(req, OPENAI_MODELS)
        elif path == "/v1/completions":
            completions(req, body)
        else:
            send_json(req, {"error": {"message": "no such route"}}, 404)

    return scripted_server(handle)


def assert_one_line_error(result, *needles: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_a_closed_port_says_connection_refused_and_how_to_start_a_server():
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("complete", "hi", "--model", url)
    assert_one_line_error(
        result, f"Cannot reach the server at {url}: connection refused", "start the server"
    )


def test_a_stalling_server_times_out_with_the_server_and_the_path_named():
    release = threading.Event()

    def stall(req, path, body):
        release.wait(10)  # never answers in time; released at the end of the test

    with scripted_server(stall) as url:
        try:
            with pytest.raises(RemoteError) as caught:
                connect(url, timeout=0.5)
        finally:
            release.set()
    assert caught.value.message == f"The server at {url} did not answer /props within 0.5 s."
    assert "overloaded, stalled or still loading" in caught.value.hint


def test_a_stream_closed_early_keeps_the_text_and_is_marked_interrupted():
    def cut(req, body):
        start_sse(req)
        send_event(req, chunk("Once"))
        send_event(req, chunk(" upon"))
        req.close_connection = True  # no finish_reason, no [DONE]

    with openai_server(cut) as url:
        engine = connect(url, n_ctx=512)
        stream = engine.stream("x", PARAMS, top=1)
        seen = []
        with pytest.raises(StreamCutError) as caught:
            for event in stream:
                seen.append(event.text)
        assert seen == ["Once", " upon"]
        assert stream.completion.finish_reason == "interrupted"
        assert stream.completion.text == "Once upon"
        assert "closed the stream after 2 tokens" in caught.value.message

        result = run_cli("complete", "x", "--model", url, "-t", "0", "--ctx", "512")
    assert result.stdout.startswith("Once upon")
    assert_one_line_error(
        result, "finish: interrupted", "closed the stream after 2 tokens", "the text so far is kept"
    )


def test_a_stream_that_stalls_midway_is_cut_after_the_timeout():
    release = threading.Event()

    def stall_midway(req, body):
        start_sse(req)
        send_event(req, chunk("Hello"))
        release.wait(10)

    with openai_server(stall_midway) as url:
        engine = connect(url, n_ctx=512, timeout=0.5)
        stream = engine.stream("x", PARAMS, top=1)
        try:
            with pytest.raises(StreamCutError) as caught:
                stream.run()
        finally:
            release.set()
    assert stream.completion.text == "Hello"
    assert "did not answer /v1/completions within 0.5 s" in caught.value.message


@pytest.mark.parametrize("ending", ["finish_reason", "[DONE] only"])
def test_a_finished_stream_is_not_an_error(ending):
    def fine(req, body):
        start_sse(req)
        send_event(req, chunk("Hi"))
        send_event(req, chunk("!", finish="length" if ending == "finish_reason" else None))
        send_event(req, "[DONE]")

    with openai_server(fine) as url:
        done = connect(url, n_ctx=512).stream("x", PARAMS, top=1).run()
    assert done.text == "Hi!"
    assert done.finish_reason == "length"


@pytest.mark.parametrize(
    ("status", "needle", "hint"),
    [
        (401, "answered 401 Unauthorized: Invalid API key", "api_key_env"),
        (500, "answered 500 Internal Server Error: Invalid API key", "its log says why"),
    ],
)
def test_error_statuses_are_one_line_with_the_fix(status, needle, hint):
    def refuse(req, path, body):
        send_json(req, {"error": {"message": "Invalid API key"}}, status)

    with scripted_server(refuse) as url:
        if status == 500:  # the probe survives a 500 on /props but not on the models list
            with pytest.raises(RemoteError, match="neither llama-server"):
                connect(url)
            return
        result = run_cli("complete", "hi", "--model", url)
    assert_one_line_error(result, needle, hint)


def test_a_500_during_generation_names_the_server_and_its_message():
    def boom(req, body):
        send_json(req, {"error": {"message": "CUDA out of memory"}}, 500)

    with openai_server(boom) as url:
        result = run_cli("complete", "hi", "--model", url, "--ctx", "512")
    assert_one_line_error(
        result,
        f"{url}/v1/completions answered 500 Internal Server Error: CUDA out of memory",
        "the server failed: its log says why",
    )


def test_a_wrong_url_is_neither_server_kind():
    def nothing(req, path, body):
        send_json(req, {"detail": "Not Found"}, 404)

    with scripted_server(nothing) as url:
        result = run_cli("complete", "hi", "--model", url + "/v1/completions")
    assert_one_line_error(
        result, "is neither llama-server (GET /props) nor an OpenAI-compatible", "base URL"
    )


def test_a_server_without_logprobs_is_told_when_scoring():
    def no_logprobs(req, body):
        send_json(
            req,
            {"choices": [{"text": " x", "index": 0, "logprobs": None, "finish_reason": "length"}]},
        )

    with openai_server(no_logprobs) as url:
        engine = connect(url, n_ctx=512)
        with pytest.raises(RemoteError) as caught:
            engine.api.next_top([1, 2], 5)
    assert caught.value.message == f"{url} sent no log-probabilities."
    assert "--no-probs" in caught.value.hint


def test_an_api_key_comes_from_the_environment_and_is_sent(monkeypatch):
    seen = []

    def check(req, path, body):
        seen.append(req.headers.get("Authorization"))
        send_json(req, OPENAI_MODELS if path == "/v1/models" else {}, 200)

    monkeypatch.setenv("GPTPLAY_API_KEY", "sekret")
    from gptplay.models import RemoteModel, ResolvedModel

    with scripted_server(check) as url:
        from gptplay.engine.remote import connect_model

        engine = connect_model(ResolvedModel(url, Path(), RemoteModel(url)), 512, None)
    assert engine.model_name == f"tiny @ {url}"
    assert set(seen) == {"Bearer sekret"}
    missing = RemoteModel(url, api_key_env="GPTPLAY_TEST_NO_SUCH_KEY")
    with pytest.raises(Exception, match=r"\$GPTPLAY_TEST_NO_SUCH_KEY, which is not set"):
        missing.api_key()


def test_a_config_alias_names_the_server_the_model_and_where_the_key_is(user_dirs):
    seen = []

    def serve(req, path, body):
        seen.append((path, req.headers.get("Authorization"), body and body.get("model")))
        if path == "/v1/models":
            return send_json(req, {"data": [{"id": "a"}, {"id": "b", "owned_by": "x"}]})
        start_sse(req)
        send_event(req, chunk("ok", finish="stop"))
        send_event(req, "[DONE]")

    with scripted_server(serve) as url:
        user_dirs.mkdir(parents=True, exist_ok=True)
        (user_dirs / "config.toml").write_text(
            f'[aliases]\nbig = {{ url = "{url}", model = "b", api_key_env = "BIG_KEY" }}\n'
        )
        result = run_cli(
            "complete", "hi", "--model", "big", "--ctx", "512", env={"BIG_KEY": "k123"}
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("ok")
        assert ("/v1/completions", "Bearer k123", "b") in seen
        missing = run_cli("complete", "hi", "--model", "big", env={"BIG_KEY": ""})
        shown = run_cli("config", "show")
    assert f"alias big → {url} (model b), key from $BIG_KEY" in shown.stdout
    assert_one_line_error(
        missing, "reads its API key from $BIG_KEY, which is not set", "export BIG_KEY="
    )
    assert "k123" not in (user_dirs / "config.toml").read_text()
