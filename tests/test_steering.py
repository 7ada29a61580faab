"""Structured output (issue 21): JSON schemas and logit bias; the refused-draw shortcut."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from gptplay.engine.types import SamplingParams
from gptplay.settings.bias import BiasProblem, parse, parse_entry
from gptplay.settings.json_schema import SchemaProblem, parse_schema, verdict
from tests.cli_support import invoke
from tests.conftest import run_cli

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "city": {"type": "string"},
        "year": {"type": "integer"},
    },
    "required": ["name", "city", "year"],
    "additionalProperties": False,
}
EXTRACT = "Extract: Ada Lovelace was born in London in 1815. JSON:"
REVIEW = (
    "Review: A dull, lifeless film.\nSentiment: negative\n\n"
    "Review: The lead gives the performance of her career.\nSentiment: positive\n\n"
    "Review: I loved every minute of it.\nSentiment:"
)


# --- logit bias: the entries, before any model -------------------------------------------


def test_bias_entries_parse_to_keys_and_biases():
    assert parse_entry(" positive=ban") == (" positive", -math.inf)
    assert parse_entry("1234=2.5") == (1234, 2.5)
    assert parse_entry("a=b=-inf") == ("a=b", -math.inf)  # the last '=' splits
    assert parse_entry(" 12=1") == (" 12", 1.0)  # a space makes it text, not an id
    assert parse_entry("x=false") == ("x", -math.inf)  # llama-server's word for a ban


@pytest.mark.parametrize(
    ("entries", "needle"),
    [
        (["positive"], "is not TEXT_OR_ID=BIAS"),
        (["=3"], "is not TEXT_OR_ID=BIAS"),
        (["x=nan"], "must be in [-100, 100]"),
        (["x=inf"], "must be in [-100, 100]"),
        (["x=101"], "must be in [-100, 100]"),
        (["x=lots"], "is not a number or 'ban'"),
        (["x=1", "x=ban"], "given twice"),
    ],
)
def test_bad_bias_entries_are_one_problem_each(entries, needle):
    with pytest.raises(BiasProblem) as err:
        parse(entries)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--logit-bias", "x=nan"], "--logit-bias: 'x=nan': the bias must be in"),
        (["--logit-bias", "positive"], "is not TEXT_OR_ID=BIAS"),
        (["--logit-bias", "999999=1"], "there is no token 999999"),
        (["--logit-bias", "ab=1"], "'ab' is 2 tokens ('a' = 98, 'b' = 99), not one"),
    ],
)
def test_bad_logit_bias_is_one_line_exit_2_before_anything_is_generated(args, needle):
    ran = invoke("complete", "x", *args)
    assert ran.exit_code == 2, ran.stdout
    assert needle in (ran.error or ran.stderr)
    assert not ran.stdout.strip()


def test_a_prompt_file_takes_logit_bias_as_a_table(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "ask.toml").write_text(
        'title = "ask"\nkind = "qa"\ntemplate = "Q: {question}\\nA: {answer}"\n'
        'answer = "answer"\n\n[params]\nlogit_bias = { "n" = "ban", "5" = 2.5 }\n'
    )
    monkeypatch.setenv("GPTPLAY_LIBRARY", str(lib))
    ran = invoke("fewshot", "ask", "--input", "q", "--shots", "0")
    assert ran.exit_code == 0, ran.stderr
    assert ran.params.logit_bias == ("n=ban", "5=2.5")


# --- JSON schemas, before any model ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("{", "not JSON: "),
        ("[1]", "a schema is a JSON object, not list"),
        ('{"type": "thing"}', "not a valid JSON Schema at type"),
        ('{"$ref": "https://example.com/s.json"}', "points outside the schema"),
    ],
)
def test_a_bad_schema_is_one_problem(text, needle):
    with pytest.raises(SchemaProblem) as err:
        parse_schema(text)
    assert needle in str(err.value)


def test_the_verdict_names_what_is_wrong():
    schema = json.dumps(PERSON)
    assert verdict('{"name": "A", "city": "B", "year": 1}', schema) == (True, "valid")
    ok, why = verdict('{"name": "A", "city": "B", "year": "1815"}', schema)
    assert not ok and why.startswith("year: ")
    assert verdict('{"name": ', schema)[0] is False


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--json-schema", '{"type": 3}'], "--json-schema: not a valid JSON Schema"),
        (["--json-schema", "missing.json"], "cannot read the JSON schema file"),
        (["--json-object", "--json-schema", "{}"], "cannot be combined"),
        (["--json-object", "--choice", "a,b"], "cannot be combined"),
    ],
)
def test_bad_schema_flags_fail_before_the_model_loads(args, needle):
    ran = invoke("complete", "x", *args)
    assert ran.exit_code == 2
    assert needle in (ran.error or ran.stderr)
    assert ran.engine.params == []


def test_json_object_is_the_any_object_schema_and_reaches_the_engine(tmp_path):
    ran = invoke("complete", "x", "--json-object")
    assert ran.exit_code == 0, ran.stderr
    assert json.loads(ran.params.json_schema) == {"type": "object"}
    path = tmp_path / "person.json"
    path.write_text(json.dumps(PERSON))
    ran = invoke("complete", "x", "--json-schema", str(path))
    assert json.loads(ran.params.json_schema) == PERSON


def test_a_prompt_file_schema_may_be_a_table_or_a_file_beside_it(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "person.json").write_text(json.dumps(PERSON))
    head = 'title = "x"\nkind = "qa"\ntemplate = "Q: {question}\\nA: {answer}"\nanswer = "answer"\n'
    (lib / "byfile.toml").write_text(head + '\n[params]\njson_schema = "person.json"\n')
    (lib / "bytable.toml").write_text(head + '\n[params.json_schema]\ntype = "object"\n')
    monkeypatch.setenv("GPTPLAY_LIBRARY", str(lib))
    for name, want in (("byfile", PERSON), ("bytable", {"type": "object"})):
        ran = invoke("fewshot", name, "--input", "q", "--shots", "0")
        assert ran.exit_code == 0, ran.stderr
        assert json.loads(ran.params.json_schema) == want


# --- the real model -------------------------------------------------------------------------


@pytest.mark.model
def test_a_schema_run_gives_json_that_validates(engine):
    params = SamplingParams(temperature=0, max_tokens=60, json_schema=json.dumps(PERSON))
    stream = engine.stream(EXTRACT, params, top=5)
    events = list(stream)
    c = stream.completion
    value = json.loads(c.text)
    assert set(value) == {"name", "city", "year"} and isinstance(value["year"], int)
    assert c.schema_valid is True and c.complete is True
    # the grammar forced tokens the model did not want first: '{"' is rarely its choice
    assert any(e.constrained_logprob - e.logprob > 1.0 for e in events)


@pytest.mark.model
def test_a_schema_cut_short_is_reported_invalid(engine):
    params = SamplingParams(temperature=0, max_tokens=4, json_schema=json.dumps(PERSON))
    stream = engine.stream(EXTRACT, params)
    list(stream)
    c = stream.completion
    assert c.complete is False and c.schema_valid is False and "not JSON" in c.schema_problem


@pytest.mark.model
def test_a_ban_changes_the_greedy_answer_and_is_marked(engine):
    plain = SamplingParams(temperature=0, max_tokens=1)
    first = list(engine.stream(REVIEW, plain, top=5))[0]
    assert first.text == " positive"
    banned = SamplingParams(temperature=0, max_tokens=1, logit_bias=(" positive=ban",))
    event = list(engine.stream(REVIEW, banned, top=5))[0]
    assert event.text != " positive"
    # the raw probabilities are the model's own; the ban shows in the alternatives
    assert event.top[0].text == " positive" and event.top[0].allowed is False
    assert abs(event.top[0].logprob - first.logprob) < 1e-6


@pytest.mark.model
def test_biased_probabilities_are_the_softmax_of_the_biased_logits(engine, monkeypatch):
    """The constrained log-probability equals a direct log-softmax of the biased logits,
    both where the unbiased tokens keep most of the mass and where the bias takes it."""
    from gptplay.engine import sampler

    seen = {}
    original = sampler.SamplerChain.constrained

    def spy(self, logits, lse, token, alt_ids):
        biased = logits.astype(np.float64).copy()
        for t, b in self.bias.items():
            biased[t] += b
        m = biased.max()
        seen.setdefault("exact", []).append(
            biased[token] - (m + math.log(np.exp(biased - m).sum()))
        )
        return original(self, logits, lse, token, alt_ids)

    monkeypatch.setattr(sampler.SamplerChain, "constrained", spy)
    for bias in ((" positive=-3", " great=4"), (" positive=ban", " negative=30")):
        seen.clear()
        params = SamplingParams(temperature=0.7, seed=4, max_tokens=4, logit_bias=bias)
        events = list(engine.stream(REVIEW, params, top=5))
        assert len(events) == len(seen["exact"]) == 4
        for e, exact in zip(events, seen["exact"]):
            assert abs(e.constrained_logprob - exact) < 1e-4


@pytest.mark.model
@pytest.mark.parametrize("temperature", [0.0, 0.9])
def test_a_refused_draw_is_redrawn_as_from_the_whole_narrowed_vocabulary(
    engine, monkeypatch, temperature
):
    """The redraw from the most likely tokens gives the same tokens as the full pass."""
    from gptplay.engine import sampler

    params = SamplingParams(
        temperature=temperature, seed=9, max_tokens=40, json_schema=json.dumps(PERSON)
    )
    fast_stream = engine.stream(EXTRACT, params, top=5)
    fast = [(e.id, e.constrained_logprob) for e in fast_stream]
    assert fast_stream.completion.refused >= 3  # the shortcut was taken
    monkeypatch.setattr(sampler, "REDRAW_WIDTHS", ())
    full = [(e.id, e.constrained_logprob) for e in engine.stream(EXTRACT, params, top=5)]
    assert [i for i, _ in fast] == [i for i, _ in full]
    for (_, a), (_, b) in zip(fast, full):
        assert abs(a - b) <= 2 * sampler.CONSTRAINED_TOL + 1e-5


@pytest.mark.model
def test_cli_json_schema_run_prints_valid_json_and_says_so(model_path, tmp_path):
    path = tmp_path / "person.json"
    path.write_text(json.dumps(PERSON))
    proc = run_cli("complete", EXTRACT, "--json-schema", str(path), "-t", "0", "--no-history")
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout)
    assert value["city"] == "London"
    assert "JSON: valid" in proc.stderr
    proc = run_cli("complete", EXTRACT, "--json-schema", str(path), "-t", "0", "--json",
                   "--no-history")  # fmt: skip
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["schema_valid"] is True
    assert json.loads(summary["text"]) == value


@pytest.mark.model
def test_cli_multi_token_bias_text_names_its_tokens(model_path):
    proc = run_cli("complete", "x", "--logit-bias", " positive outcome=2", "--no-history")
    assert proc.returncode == 2
    assert "' positive outcome' is 2 tokens (' positive' = " in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("flag", ["--grammar", "--json-schema"])
def test_a_fifo_folder_or_huge_file_is_refused_not_read(flag, tmp_path):
    """A FIFO would block the read forever; each case is one line, exit 2."""
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b" " * 1_048_577)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b'root ::= "\xe9"')
    cases = [(fifo, "it is not a regular file"), (tmp_path, "it is a directory"),
             (huge, "1,048,577 bytes, over the 1,048,576"), (bad, "not UTF-8 text")]  # fmt: skip
    for path, needle in cases:
        ran = invoke("complete", "x", flag, str(path))
        assert ran.exit_code == 2, (path, ran.stdout)
        assert "cannot read the" in ran.error and needle in ran.error, ran.error
        assert ran.engine.params == []
