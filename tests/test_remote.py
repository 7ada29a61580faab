"""The remote engine against a real server: llama-cpp-python's OpenAI-compatible server
on the embedded model, compared with the local engine on the same model."""

from __future__ import annotations

import json

import pytest

from gptplay.engine.remote import connect
from gptplay.engine.types import SamplingParams
from tests.conftest import SHARED, run_cli
from tests.remote_servers import llama_cpp_server

pytestmark = pytest.mark.model

GREEDY = SamplingParams(temperature=0.0, max_tokens=8)
SST2 = SHARED / "datasets" / "sst2_dev.jsonl"
from tests.test_steering import EXTRACT, PERSON, REVIEW  # noqa: E402  (one copy of each)


@pytest.fixture(scope="module")
def server(model_path, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "llama_cpp_server.log"
    with llama_cpp_server(model_path, log) as url:
        yield url


@pytest.fixture
def srv(server, user_dirs) -> str:
    """An alias for the server with a long timeout: a busy 2-core machine can take a minute
    over one request (llama-cpp-python sorts the 262,144-token vocabulary in Python)."""
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text(
        f'[aliases]\nsrv = {{ url = "{server}", timeout = 600 }}\n'
    )
    return "srv"


@pytest.fixture(scope="module")
def remote(server):
    notices: list[str] = []
    engine = connect(server, notify=lambda text, warning: notices.append(text), n_ctx=1024)
    engine.notices = notices
    return engine


def test_the_probe_recognises_llama_cpp_python_and_says_what_it_lacks(remote, server):
    assert remote.server_kind == "llama-cpp-python"
    assert remote.model_name == f"gemma-3-270m-q4_k_m.gguf @ {server}"
    assert remote.n_ctx == 1024
    remote.stream("Hi", GREEDY, top=2).run()
    assert any("sends token text, not ids" in n for n in remote.notices)


def test_tokens_are_the_local_engines(engine, remote):
    for text in ["The capital of France is", "naïve café ☕", "  two  spaces\n\nand lines"]:
        assert remote.tokenize(text) == engine.tokenize(text)
        assert remote.tokenize(text, add_bos=False) == engine.tokenize(text, add_bos=False)
    ids = engine.tokenize("Paris is lovely", add_bos=False)
    assert remote.detokenize(ids) == engine.detokenize(ids)
    assert [p.bytes for p in remote.pieces("a café")][1:] == [
        p.bytes for p in engine.pieces("a café")
    ][1:]


TIE = 0.1  # nats: below this top-2 margin the two prompt layouts may pick either token
LAYOUT = 0.3  # nats: what two prompt layouts' rounding moves a log-probability (0.18 seen)


def agreed_tokens(served, local) -> int:
    """How many tokens the two runs share before their first near-tie (checked on the way)."""
    compared = 0
    for theirs, mine in zip(served.events, local.events):
        margin = mine.top[0].logprob - mine.top[1].logprob
        if theirs.id != mine.id:
            assert margin < TIE, (theirs.text, mine.text, margin)
            assert theirs.id in [a.id for a in mine.top[:2]]
            break
        compared += 1
        assert theirs.bytes == mine.bytes
        assert abs(theirs.logprob - mine.logprob) < LAYOUT
        ours = {a.id: a.logprob for a in mine.top}
        for a in theirs.top[:3]:  # an alternative may swap places only with a near-tie
            assert a.id in ours and abs(a.logprob - ours[a.id]) < LAYOUT
    return compared


def test_greedy_completion_text_logprobs_and_alternatives_match_the_local_engine(engine, remote):
    """The server decodes its prompt unpadded in one batch, gptplay in padded 64-token chunks
    (one run, one result), so the kernels round differently: a token's logprob moves by up
    to ~0.05 nats, an alternative's by up to ~0.2, and greedy agrees token for token up to
    the first near-tie, where either may win (here " blue" against " yellow", 0.013 nats
    apart, after " red,")."""
    agreed = 0
    for prompt in ["The three primary colours are", "The capital of France is", "Once upon a time"]:
        local = engine.stream(prompt, GREEDY, top=5).run()
        served = remote.stream(prompt, GREEDY, top=5).run()
        assert served.tokens == local.tokens == 8
        assert served.finish_reason == local.finish_reason == "length"
        agreed += agreed_tokens(served, local)
    assert agreed >= 12  # measured here: 2 + 8 + 8 of 24


def test_stop_sequences_and_the_seed_are_honoured(remote):
    params = SamplingParams(temperature=0.0, max_tokens=20, stop=(".",), seed=7)
    done = remote.stream("Water is wet", params, top=0, probs=False).run()
    assert "." not in done.text and done.finish_reason == "stop"
    assert done.seed == 7


def test_label_scores_agree_with_the_local_engine(engine, remote):
    context = engine.tokenize("Review: a gorgeous , witty , seductive movie .\nSentiment:")
    labels = [engine.tokenize(" positive", False), engine.tokenize(" negative", False)]
    local = engine.score_choices(context, labels)
    served = remote.score_choices(context, labels)
    for a, b in zip(served, local):
        # llama.cpp's quantized kernels round differently per batch shape (~0.1 nats on
        # this Q4 model), and a server splits prompts by what its cache already holds
        assert abs(a[0].logprob - b[0].logprob) < 0.3
    assert "top-1000" in remote.scoring_report()


def test_cli_complete_streams_json_from_the_server(server):
    result = run_cli(
        "complete",
        "Once upon a time",
        "--model",
        server,
        "-t",
        "0",
        "-n",
        "4",
        "--json",
        "--top",
        "2",
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    tokens, summary = records[:-1], records[-1]
    assert len(tokens) == 4 and summary["type"] == "summary"
    assert summary["finish_reason"] == "length" and summary["model"].endswith(server)
    assert summary["text"] == "".join(t["text"] for t in tokens)
    assert all(len(t["top"]) == 2 for t in tokens)


@pytest.mark.skipif(not SST2.exists(), reason="../shared/datasets/sst2_dev.jsonl is not here")
def test_eval_sst2_gives_the_local_engines_predictions(engine, srv, tmp_path):
    from gptplay.evaluate import EvalConfig, LabelScorer, evaluate, load_examples, subset
    from gptplay.evaluate.data import parse_field_map
    from gptplay.library import load_prompt

    out = tmp_path / "remote.json"
    served = run_cli(
        "eval",
        "sst2",
        "--data",
        str(SST2),
        "--limit",
        "50",
        "--shots",
        "0",
        "--model",
        srv,
        "-o",
        str(out),
        timeout=900,
    )
    assert served.returncode == 0, served.stderr
    assert "n_probs method" in served.stdout  # the report says how labels were scored
    remote = json.loads(out.read_text())["runs"][0]["predictions"]
    spec = load_prompt("sst2")
    test = subset(load_examples(SST2, spec, parse_field_map(None, spec)), 50)
    local = evaluate(LabelScorer(engine, spec), test, [], EvalConfig(shots=(0,)), [])
    assert len(remote) == len(local[0].predictions) == 50
    assert [p["predicted"] for p in remote] == [p.predicted for p in local[0].predictions]


@pytest.mark.skipif(not SST2.exists(), reason="../shared/datasets/sst2_dev.jsonl is not here")
def test_concurrency_on_a_one_at_a_time_server_is_said_and_changes_nothing(srv, tmp_path):
    # llama-cpp-python answers one request at a time, and its prompt cache makes a score
    # depend on the request before it (~0.1 nats): gptplay keeps one in flight and says so.
    # Real overlap is tested against the scripted llama-server (test_remote_llama_server).
    args = [
        "eval",
        "sst2",
        "--data",
        str(SST2),
        "--limit",
        "6",
        "--shots",
        "1",
        "--seeds",
        "1",
        "--model",
        srv,
    ]
    one = run_cli(*args, "-o", str(tmp_path / "one.json"), timeout=900)
    three = run_cli(*args, "--concurrency", "3", "-o", str(tmp_path / "three.json"), timeout=900)
    assert one.returncode == 0 and three.returncode == 0, three.stderr
    assert "answers 1 request at a time, so 1 runs at once" in three.stderr

    def scores(name):
        runs = json.loads((tmp_path / name).read_text())["runs"]
        return [[(p["predicted"], p["scores"]) for p in r["predictions"]] for r in runs]

    a, b = scores("one.json"), scores("three.json")
    assert [[p for p, _ in run] for run in a] == [[p for p, _ in run] for run in b]
    # the server's prompt cache still holds the previous run's last prompt, so the first
    # request of each run is split differently: scores agree to llama.cpp's batch rounding
    for run_a, run_b in zip(a, b):
        for (_, x), (_, y) in zip(run_a, run_b):
            for label in x:
                assert abs(x[label]["logprob"] - y[label]["logprob"]) < 0.3


def test_concurrency_is_refused_for_the_local_model():
    result = run_cli(
        "eval", "sst2", "--data", str(SST2), "--limit", "2", "--shots", "0", "--concurrency", "2"
    )
    assert result.returncode == 2
    assert "--concurrency 2 is for a model server" in result.stderr
    assert "Traceback" not in result.stderr


def test_text_scores_come_from_echoed_prompt_logprobs(engine, remote):
    ids = engine.tokenize("The cat sat on the mat")
    for split in (1, 3):  # after BOS alone, and after a longer context
        local = engine.score_tokens(ids[:split], ids[split:], top=2)
        served = remote.score_tokens(ids[:split], ids[split:], top=2)
        assert [t.id for t in served] == [t.id for t in local]
        # OpenAI's echo has no logprob for the prompt's first token: after BOS alone that is
        # the first scored token (and llama-cpp-python's server gives none there)
        assert (served[0].logprob is None) == (split == 1)
        for a, b in zip(served[split == 1 :], local[split == 1 :]):
            assert abs(a.logprob - b.logprob) < 0.3  # batch-shape rounding, see above
    assert "echoed prompt log-probabilities" in remote.scoring_report()


# ---- constraints and logit bias on the server (issue 21) ------------------------------


def test_cli_json_schema_on_the_server_prints_json_that_validates(srv, tmp_path):
    """The issue's command with --model: llama-cpp-python's server is sent the schema as
    GBNF (its /v1/completions takes a grammar, not a schema)."""
    import jsonschema

    path = tmp_path / "person.json"
    path.write_text(json.dumps(PERSON))
    result = run_cli(
        "complete", EXTRACT, "--json-schema", str(path), "-t", "0", "--model", srv, timeout=600
    )
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    jsonschema.validate(value, PERSON)
    assert value["city"] == "London" and value["year"] == 1815
    assert "JSON: valid" in result.stderr and "grammar: complete" in result.stderr
    assert "gives no probability under the constraint" in result.stderr


def test_choices_on_the_server_answer_one_of_them(remote):
    plain = remote.stream(REVIEW, SamplingParams(temperature=0.0, max_tokens=1), probs=False)
    assert plain.run().text == " positive"  # not a choice: the grammar has to act
    params = SamplingParams(temperature=0.0, max_tokens=8, choices=("good", "bad"))
    done = remote.stream(REVIEW, params, probs=False).run()
    assert done.text in ("good", "bad", " good", " bad")
    assert done.finish_reason == "stop" and done.complete is True


def test_a_banned_token_changes_the_servers_greedy_answer(remote):
    params = SamplingParams(temperature=0.0, max_tokens=1)
    assert remote.stream(REVIEW, params, probs=False).run().text == " positive"
    banned = SamplingParams(temperature=0.0, max_tokens=1, logit_bias=(" positive=ban",))
    text = remote.stream(REVIEW, banned, probs=False).run().text
    assert text not in ("", " positive")


def test_a_bias_id_is_refused_on_llama_cpp_pythons_server(server):
    """It reports no vocabulary size, and an id outside it makes it drop the whole
    logit_bias (its bias processor raises inside a ctypes callback, which is ignored)."""
    result = run_cli("complete", "Hi", "--model", server, "--logit-bias", "999999=1")
    assert result.returncode == 2, result.stderr
    assert "does not report its vocabulary size" in result.stderr
    assert "so the id 999999 cannot be checked" in result.stderr
    assert "Traceback" not in result.stderr
