"""Structured output (issue 21): grammars and choices, checked on the real model."""

from __future__ import annotations

import json
import math

import pytest

from gptplay.engine.types import SamplingParams
from gptplay.settings.gbnf import GrammarSyntaxError, check_gbnf, choices_grammar, literal
from tests.cli_support import invoke
from tests.conftest import run_cli

QUESTION = "Is the sky blue? Answer:"


def prompt_file(lib, name: str, grammar_line: str) -> None:
    """A small qa prompt whose [params] carry ``grammar_line`` (on line 7)."""
    lib.mkdir(exist_ok=True)
    (lib / f"{name}.toml").write_text(
        f'title = "{name}"\nkind = "qa"\ntemplate = "Q: {{question}}\\nA: {{answer}}"\n'
        f'answer = "answer"\n\n[params]\n{grammar_line}\n'
    )


# --- the GBNF check, before any model loads ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'root ::= "yes" | "no"',
        "root ::= [0-9]+\n",
        'root ::= item ("," item)*\nitem ::= [a-z]{1,3}',
        'root ::= ("a" # a comment\n  "b")',
        "root ::= [^\\n]* \"\\x41\\u00e9\"",
    ],
)
def test_grammars_llama_cpp_takes_pass_the_check(text):
    check_gbnf(text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('root ::= "a" (', "column 15"),
        ('root ::= "abc', "a string is not closed"),
        ("root ::= item", "rule 'item' is used but not defined"),
        ('start ::= "a"', "no 'root' rule"),
        ('root ::= "a"\n  "b"', "line 2, column 3"),  # a new line ends a rule outside ( )
        ('root ::= "a"{2,1}', "line 1"),
    ],
)
def test_a_broken_grammar_names_its_position(text, where):
    with pytest.raises(GrammarSyntaxError) as err:
        check_gbnf(text)
    assert where in str(err.value)


def test_choices_become_literals_that_escape_quotes_and_newlines():
    assert literal('say "hi"\n') == '"say \\"hi\\"\\n"'
    grammar = choices_grammar((" yes", ' "no"'))
    check_gbnf(grammar)
    assert grammar == 'root ::= " yes" | " \\"no\\""\n'


# --- the flags and the prompt file (fake engine: the plumbing) ------------------------------


def test_choice_flag_is_split_at_commas_and_reaches_the_engine():
    ran = invoke("complete", "x", "--choice", " yes, no")
    assert ran.exit_code == 0, ran.stderr
    assert ran.params.choices == (" yes", " no")
    assert ran.params.constraint() == 'root ::= " yes" | " no"\n'


def test_repeated_choice_flags_are_kept_whole():
    ran = invoke("complete", "x", "--choice", "a,b", "--choice", "c")
    assert ran.params.choices == ("a,b", "c")


def test_grammar_flag_reads_a_file(tmp_path):
    path = tmp_path / "digits.gbnf"
    path.write_text("root ::= [0-9]+\n")
    ran = invoke("complete", "x", "--grammar", str(path))
    assert ran.exit_code == 0, ran.stderr
    assert ran.params.grammar == "root ::= [0-9]+\n"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--grammar", 'root ::= "a" ('], "--grammar: line 1, column 15"),
        (["--grammar", "missing.gbnf"], "cannot read the grammar file"),
        (["--choice", "a,a"], "'a' is given twice"),
        (["--choice", ","], "--choice must be a list of non-empty strings"),
        (["--choice", "a", "--grammar", 'root ::= "a"'], "cannot be combined"),
    ],
)
def test_bad_constraints_fail_before_the_model_loads(args, needle):
    ran = invoke("complete", "x", *args)
    assert ran.exit_code == 2
    assert needle in (ran.error or ran.stderr)
    assert ran.engine.params == []  # nothing was generated


def test_a_prompt_file_grammar_is_read_beside_the_prompt(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "yesno.gbnf").write_text('root ::= " yes" | " no"\n')
    prompt_file(lib, "ask", 'grammar = "yesno.gbnf"')
    monkeypatch.setenv("GPTPLAY_LIBRARY", str(lib))
    ran = invoke("fewshot", "ask", "--input", "Is water wet?", "--shots", "0")
    assert ran.exit_code == 0, ran.stderr
    assert ran.params.grammar == 'root ::= " yes" | " no"\n'


def test_a_prompt_file_grammar_that_does_not_parse_names_file_and_line(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    prompt_file(lib, "bad", "grammar = 'root ::= \"a'")
    monkeypatch.setenv("GPTPLAY_LIBRARY", str(lib))
    ran = invoke("fewshot", "bad", "--input", "x", "--shots", "0")
    assert ran.exit_code == 1  # a broken prompt file, as every other one (PromptError)
    message = ran.error or ran.stderr
    assert "bad.toml:7" in message and "a string is not closed" in message


# --- the real model -------------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_choices_allow_only_those_strings(engine, temperature):
    params = SamplingParams(temperature=temperature, seed=3, choices=(" yes", " no"))
    stream = engine.stream(QUESTION, params, top=5)
    list(stream)
    c = stream.completion
    assert c.text in (" yes", " no")
    assert c.complete is True and c.finish_reason == "stop"


@pytest.mark.model
def test_the_grammar_changes_what_greedy_decoding_says(engine):
    free = engine.stream(QUESTION, SamplingParams(temperature=0, max_tokens=1))
    list(free)
    assert free.completion.text == " Yes"  # what the model says unconstrained
    stream = engine.stream(QUESTION, SamplingParams(temperature=0, choices=(" yes", " no")))
    events = list(stream)
    first = events[0]
    assert stream.completion.refused >= 1  # the model's " Yes" was refused
    refused = [a for a in first.top if a.allowed is False]
    assert " Yes" in [a.text for a in refused]
    assert all(a.allowed is not None for a in first.top)
    # constrained: the raw probability renormalised over the allowed tokens, so never lower
    assert first.constrained_logprob > first.logprob
    assert first.constrained_logprob <= 0.0


@pytest.mark.model
def test_constrained_probabilities_match_the_whole_vocabulary_pass(engine, monkeypatch):
    from gptplay.engine import sampler

    grammar = 'root ::= " The" [a-z ]+ "."'
    params = SamplingParams(temperature=0.8, seed=11, max_tokens=8, grammar=grammar)
    fast = [e.constrained_logprob for e in engine.stream("Write a sentence:", params)]
    monkeypatch.setattr(sampler, "CONSTRAINED_WIDTHS", ())  # always the full pass
    exact = [e.constrained_logprob for e in engine.stream("Write a sentence:", params)]
    assert len(fast) == len(exact) == 8
    for f, x in zip(fast, exact):
        assert abs(f - x) <= 2 * sampler.CONSTRAINED_TOL + 1e-5


@pytest.mark.model
def test_a_grammar_run_is_repeatable_from_its_seed(engine):
    params = SamplingParams(temperature=1.0, seed=42, max_tokens=12, grammar="root ::= [a-z ]+")
    runs = []
    for _ in range(2):
        stream = engine.stream("Some words:", params)
        runs.append([e.id for e in stream])
    assert runs[0] == runs[1]
    assert all(ch in "abcdefghijklmnopqrstuvwxyz " for ch in stream.completion.text)


@pytest.mark.model
def test_a_grammar_cut_by_max_tokens_is_reported_incomplete(engine):
    params = SamplingParams(temperature=0, max_tokens=2, grammar='root ::= "[" [0-9]+ "]"')
    stream = engine.stream("Numbers:", params)
    list(stream)
    c = stream.completion
    assert c.finish_reason == "length" and c.complete is False
    assert c.text.startswith("[")


@pytest.mark.model
def test_cli_json_events_carry_both_probabilities(model_path):
    proc = run_cli("complete", QUESTION, "--choice", " yes, no", "-t", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    token, summary = records[0], records[-1]
    assert summary["text"] in (" yes", " no")
    assert summary["grammar_complete"] is True
    assert token["constrained_logprob"] > token["logprob"]
    assert {a["allowed"] for a in token["top"]} == {True, False}
    assert math.isfinite(token["constrained_logprob"])


@pytest.mark.model
def test_cli_summary_says_the_grammar_was_cut(model_path):
    proc = run_cli("complete", "Numbers:", "--grammar", 'root ::= "[" [0-9]+ "]"', "-n", "2",
                   "-t", "0")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "grammar: incomplete" in proc.stderr


def test_a_flag_constraint_replaces_the_prompt_files_other_one(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    prompt_file(lib, "ask", "grammar = 'root ::= \"x\"'")
    monkeypatch.setenv("GPTPLAY_LIBRARY", str(lib))
    ran = invoke("fewshot", "ask", "--input", "q", "--shots", "0", "--choice", "a,b")
    assert ran.exit_code == 0, ran.stderr
    assert ran.params.grammar is None and ran.params.choices == ("a", "b")
