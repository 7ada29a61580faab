"""Constraints and logit bias on model servers (issue 21), against scripted servers: the
fields each server kind is sent (llama-server's grammar / json_schema / [[id, bias]],
vLLM's structured outputs by version, OpenAI's {"id": bias}), and one line, exit 2,
nothing sent, where a server has no field for what was asked.

The real llama-cpp-python server runs the same constraints in tests/test_remote.py."""

from __future__ import annotations

import json

import pytest

from gptplay.engine.remote import connect
from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError
from tests.conftest import run_cli
from tests.remote_servers import OPENAI_MODELS, scripted_server, send_event, send_json, start_sse
from tests.test_remote_llama_server import Recorder
from tests.test_remote_vllm import handle as vllm_handle

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["name", "year"],
}


def completions(recorder) -> list[dict]:
    return [b for p, b in recorder.requests if p in ("/completion", "/v1/completions")]


def notices(engine) -> list[str]:
    said: list[str] = []
    engine._notify = lambda text, warning: said.append(text)
    return said


class LlamaServer(Recorder):
    """The scripted llama-server, with a /v1/models that reports ``n_vocab`` when given."""

    n_vocab: object = None

    def __call__(self, req, path, body):
        if path == "/v1/models" and self.n_vocab is not None:
            self.requests.append((path, body))
            model = {"id": "m.gguf", "object": "model", "meta": {"n_vocab": self.n_vocab}}
            return send_json(req, {"object": "list", "data": [model]})
        return super().__call__(req, path, body)


@pytest.fixture
def llama():
    recorder = LlamaServer()
    with scripted_server(recorder) as url:
        yield url, recorder


# ---- llama-server ---------------------------------------------------------------------


def test_llama_server_gets_the_schema_object_and_bias_pairs_with_false_for_a_ban(llama):
    url, recorder = llama
    recorder.n_vocab = 200
    params = SamplingParams(
        max_tokens=4, json_schema=json.dumps(PERSON), logit_bias=(" world=ban", "14=2.5")
    )
    connect(url).stream([1, 10], params, top=1).run()
    body = completions(recorder)[-1]
    assert body["json_schema"] == PERSON and "grammar" not in body
    assert body["logit_bias"] == [[11, False], [14, 2.5]]  # " world" is id 11 on its tokenizer
    tokenized = [b for p, b in recorder.requests if p == "/tokenize"]
    assert tokenized[-1]["content"] == " world" and tokenized[-1]["add_special"] is False
    engine = connect(url)
    for _ in range(3):  # the bias is resolved once, not once per request (eval, chat)
        engine.stream([1, 10], params, top=1).run()
    asked = [b for p, b in recorder.requests if p == "/tokenize" and b["content"] == " world"]
    assert len(asked) == 2


def test_llama_server_gets_choices_and_grammars_as_gbnf(llama):
    url, recorder = llama
    engine = connect(url)
    choose = SamplingParams(max_tokens=4, choices=("yes", "no"))
    engine.stream([1], choose, top=1).run()
    assert completions(recorder)[-1]["grammar"] == choose.constraint()
    assert completions(recorder)[-1]["grammar"] == 'root ::= " "? ("yes" | "no")\n'
    engine.stream([1], SamplingParams(max_tokens=4, grammar='root ::= "a"+'), top=1).run()
    body = completions(recorder)[-1]
    assert body["grammar"] == 'root ::= "a"+' and "logit_bias" not in body
    engine.stream([1], SamplingParams(max_tokens=4), top=1).run()
    assert not {"grammar", "json_schema", "logit_bias"} & set(completions(recorder)[-1])


def test_a_constrained_run_is_complete_only_where_the_model_ended_it(llama):
    url, recorder = llama
    engine = connect(url)
    params = SamplingParams(max_tokens=4, grammar="root ::= [a-z!]+")
    assert engine.stream([1], params, top=1).run().complete is None  # cut by the limit
    recorder.stop_type = "eos"
    assert engine.stream([1], params, top=1).run().complete is True
    assert engine.stream([1], SamplingParams(max_tokens=4), top=1).run().complete is None


def test_the_probabilities_of_a_constrained_run_are_said_to_be_the_servers_own(llama):
    url, _ = llama
    engine = connect(url)
    said = notices(engine)
    done = engine.stream([1], SamplingParams(max_tokens=4, choices=("a", "b")), top=2).run()
    assert all(e.constrained_logprob is None for e in done.events)  # nothing made up
    assert all(a.allowed is None for e in done.events for a in e.top)
    assert any("gives no probability under the constraint" in s for s in said)
    said.clear()
    engine.stream([1], SamplingParams(max_tokens=4, grammar='root ::= "x"'), sampled=True).run()
    assert any("only where it refused the model's draw" in s for s in said)


def test_a_bias_id_beyond_the_servers_vocabulary_is_refused_before_generating(llama):
    url, recorder = llama
    recorder.n_vocab = 120
    engine = connect(url)
    with pytest.raises(
        UsageError, match=r"there is no token 500 \(the vocabulary has ids 0 to 119"
    ):
        engine.stream([1], SamplingParams(max_tokens=4, logit_bias=("500=ban",)), top=1)
    assert completions(recorder) == []
    assert engine.logit_bias(("119=-3",)) == [(119, -3.0)]


def test_a_bias_id_is_refused_where_llama_server_does_not_report_its_vocabulary(llama):
    """llama-server ignores an id outside its vocabulary without a word: unchecked, an id is
    not sent; a text is, since its id comes from the server's own tokenizer."""
    url, recorder = llama
    engine = connect(url)
    with pytest.raises(UsageError, match=r"does not report its vocabulary size \(meta.n_vocab"):
        engine.stream([1], SamplingParams(max_tokens=4, logit_bias=("14=1",)), top=1)
    assert completions(recorder) == []
    engine.stream([1], SamplingParams(max_tokens=4, logit_bias=("!=1",)), top=1).run()
    assert completions(recorder)[-1]["logit_bias"] == [[14, 1.0]]


def test_a_bias_text_of_several_tokens_names_them_from_the_server(llama):
    url, _ = llama
    result = run_cli("complete", "Hi", "--model", url, "--logit-bias", "Hello world=2")
    assert result.returncode == 2, result.stderr
    assert "'Hello world' is 2 tokens ('Hello' = 10, ' world' = 11)" in result.stderr
    assert "Traceback" not in result.stderr


# ---- vLLM ----------------------------------------------------------------------------


class Vllm:
    """The scripted vLLM of test_remote_vllm, recording requests, at a given version."""

    def __init__(self, version: object) -> None:
        self.version = version
        self.requests: list[tuple[str, dict | None]] = []

    def __call__(self, req, path, body):
        self.requests.append((path, body))
        if path == "/version" and self.version is not None:
            return send_json(req, {"version": self.version})
        return vllm_handle(req, path, body)


def vllm_run(version: object, **settings) -> dict:
    """The /v1/completions body vLLM at ``version`` is sent for a run with ``settings``."""
    recorder = Vllm(version)
    with scripted_server(recorder) as url:
        connect(url).stream("The sky", SamplingParams(max_tokens=2, **settings), top=1).run()
    return completions(recorder)[-1]


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({"json_schema": json.dumps(PERSON)}, {"json": PERSON}),
        ({"grammar": 'root ::= "a"'}, {"grammar": 'root ::= "a"'}),
        # --choice's optional leading space, as vLLM's plain choice list
        ({"choices": ("blue", "grey")}, {"choice": ["blue", "grey", " blue", " grey"]}),
        ({"choices": (" blue", "grey")}, {"choice": [" blue", "grey"]}),
    ],
)
def test_vllm_gets_structured_outputs_or_guided_fields_by_its_version(settings, fields):
    body = vllm_run("0.11.0", **settings)
    assert body["structured_outputs"] == fields
    assert not [k for k in body if k.startswith("guided_")]
    old = vllm_run("0.8.5", **settings)  # before 0.10.2: guided_json, guided_grammar, ...
    assert {k: v for k, v in old.items() if k.startswith("guided_")} == {
        f"guided_{k}": v for k, v in fields.items()
    }
    assert "structured_outputs" not in old


def test_vllm_says_its_probabilities_under_a_grammar_are_after_its_mask():
    with scripted_server(Vllm("0.11.0")) as url:
        engine = connect(url)
        said = notices(engine)
        params = SamplingParams(max_tokens=2, choices=("blue", "grey"))
        done = engine.stream("The sky", params, top=2).run()
        assert any("computes its logprobs after its grammar mask" in s for s in said)
        assert [e.logprob for e in done.events] == [-0.2, -1.0]  # vLLM's numbers, as sent
        said.clear()
        engine.stream("The sky", SamplingParams(max_tokens=2, logit_bias=("9=1",))).run()
        assert any("gives no probability under the logit bias" in s for s in said)


def test_vllm_gets_logit_bias_by_id_with_a_ban_at_openais_minus_100():
    body = vllm_run("0.11.0", logit_bias=(" blue=ban", "9=2"))
    assert body["logit_bias"] == {"8": -100.0, "9": 2.0}
    assert "structured_outputs" not in body


def test_a_vllm_that_does_not_say_its_version_is_not_sent_a_constraint():
    recorder = Vllm(None)  # no /version: which field it reads is unknown
    with scripted_server(recorder) as url:
        engine = connect(url)
        params = SamplingParams(max_tokens=2, json_schema=json.dumps(PERSON))
        with pytest.raises(UsageError, match="gave no version gptplay can read"):
            engine.stream("The sky", params, top=1)
        assert completions(recorder) == []
        engine.stream("The sky", SamplingParams(max_tokens=2, logit_bias=("9=1",))).run()
        assert completions(recorder)[-1]["logit_bias"] == {"9": 1.0}


@pytest.mark.parametrize("version", ["0.10.2rc1.dev5", "v0.12.0", "0.10.10"])
def test_vllm_versions_from_0_10_2_take_structured_outputs(version):
    assert "structured_outputs" in vllm_run(version, grammar='root ::= "a"')


@pytest.mark.parametrize("version", ["0.10.1.1", "0.9", "0.6.6.post1"])
def test_vllm_versions_before_0_10_2_take_guided_fields(version):
    assert "guided_grammar" in vllm_run(version, grammar='root ::= "a"')


# ---- an OpenAI-compatible server gptplay does not know ---------------------------------


def openai_server(recorder: list):
    def handle(req, path, body):
        recorder.append((path, body))
        if path == "/v1/models":
            return send_json(req, OPENAI_MODELS)
        if path == "/v1/completions":
            start_sse(req)
            send_event(req, {"choices": [{"text": "ok", "index": 0, "finish_reason": "stop"}]})
            return send_event(req, "[DONE]")
        return send_json(req, {"error": {"message": "no such route"}}, 404)

    return scripted_server(handle)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--json-schema", json.dumps(PERSON)], "--json-schema: "),
        (["--json-object"], "--json-schema: "),
        (["--choice", "yes,no"], "--choice: "),
        (["--grammar", 'root ::= "a"'], "--grammar: "),
    ],
)
def test_a_server_without_a_grammar_field_is_one_line_exit_2_and_nothing_is_sent(args, needle):
    requests: list = []
    with openai_server(requests) as url:
        result = run_cli("complete", "Hi", "--model", url, "--no-history", *args)
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr
    assert "has no grammar or JSON-schema field on /v1/completions" in result.stderr
    assert "the output would not be constrained; nothing was sent" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert [p for p, _ in requests if p == "/v1/completions"] == []


def test_a_server_without_a_tokenizer_takes_bias_by_id_only():
    requests: list = []
    with openai_server(requests) as url:
        result = run_cli("complete", "Hi", "--model", url, "--logit-bias", " yes=ban")
        assert result.returncode == 2, result.stderr
        assert "has no tokenizer endpoint, so the token ' yes' cannot be turned into its id" in (
            result.stderr
        )
        assert [p for p, _ in requests if p == "/v1/completions"] == []
        engine = connect(url)
        engine.stream("Hi", SamplingParams(max_tokens=2, logit_bias=("42=ban", "7=3"))).run()
    assert requests[-1][1]["logit_bias"] == {"42": -100.0, "7": 3.0}
