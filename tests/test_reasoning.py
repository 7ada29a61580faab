"""Chain-of-thought prompts: answer_pattern, the --cot trigger, extraction, voting (no model)."""

import json

import pytest

from gptplay.engine.fake import FakeEngine
from gptplay.evaluate.gsm8k import chain_of
from gptplay.evaluate.textmetrics import numeric
from gptplay.evaluate.wordproblems import WordProblems
from gptplay.library import PromptError, compose, load_prompt, load_text, render_toml
from gptplay.library.reasoning import (
    direct_target,
    extract,
    read_chain,
    token_span,
    vote,
    with_trigger,
)
from tests.cli_support import invoke

COT = """title = "t"
kind = "qa"
template = "Q: {question}\\nA: {answer}"
answer = "answer"
answer_pattern = 'The answer is (-?\\d+)'

[[examples]]
question = "Ada has 2 apples and buys 3. How many?"
answer = "2 + 3 = 5. The answer is 5."
"""


def test_answer_pattern_loads_round_trips_and_reads_a_demonstration():
    spec = load_text(COT, "cot.toml", "cot")
    assert spec.answer_pattern == r"The answer is (-?\d+)"
    again = load_text(render_toml(spec), "again.toml", "cot")
    assert again.answer_pattern == spec.answer_pattern
    found = extract(spec.answer_pattern, spec.examples[0]["answer"])
    assert found is not None and found.answer == "5" and found.sentence == "The answer is 5"
    assert direct_target(spec.answer_pattern, spec.examples[0]["answer"]) == "The answer is 5"


@pytest.mark.parametrize(
    "pattern, line, message",
    [
        ("'The answer is (\\d+'", 5, "not a valid regular expression: missing ), unterminated"),
        ("'The answer is \\d+'", 5, "needs a group around the answer"),
        ("'The result is (\\d+)'", 9, "example 1: its answer does not end with an answer"),
    ],
)
def test_a_bad_answer_pattern_is_located(pattern, line, message):
    text = COT.replace("'The answer is (-?\\d+)'", pattern)
    with pytest.raises(PromptError) as err:
        load_text(text, "cot.toml", "cot")
    assert err.value.line == line and message in err.value.problem


def test_the_trigger_follows_the_query_cut():
    spec = load_text(COT, "cot.toml", "cot")
    c = compose(spec, 0, {"question": "Why?"}, trigger="Let's think step by step.")
    assert c.text == "Q: Why?\nA: Let's think step by step."
    assert with_trigger("Q:\n", "Think.") == "Q:\nThink." and with_trigger("A:", "") == "A:"


def test_read_chain_splits_reasoning_from_the_answer_tokens():
    tokens = [(" 2", -0.1), (" +", -0.2), (" 3 = 5.", -0.3), (" The answer is", -0.05)]
    tokens += [(" 1", -0.5), ("5", -0.7), (".", -0.01)]
    chain = read_chain(r"The answer is (-?\d+)", tokens)
    assert chain.found.answer == "15" and chain.reasoning == " 2 + 3 = 5."
    assert chain.tokens == ((" 1", -0.5), ("5", -0.7))
    assert chain.logprob == pytest.approx(-1.2)
    assert read_chain(r"The answer is (\d+)", [("no idea", -1.0)]).found is None
    assert token_span(["ab", "cd", "ef"], 1, 3) == range(0, 2)


def test_vote_takes_the_majority_and_its_share():
    assert vote(["5", "7", "5.0", None, "7"], key=lambda a: a.rstrip(".0")) == ("5", 0.4)
    assert vote([None, None]) == (None, 0.0)


def test_numeric_match_compares_the_first_numbers():
    assert numeric("$1,200 in all", "1200") == 1.0 and numeric("12 apples", "13") == 0.0
    assert numeric("none", "3") == 0.0


def test_word_problems_are_seeded_and_carry_their_chains():
    gen = WordProblems(3)
    first = gen.problems(20, 3)
    assert first == WordProblems(3).problems(20, 3) and first != gen.problems(20, 4)
    spec = load_prompt("word-problems")
    test, pool = gen.examples(spec, 20)
    assert {e.fields["question"] for e in test}.isdisjoint(e.fields["question"] for e in pool)
    for _, chain, answer in first:
        assert extract(spec.answer_pattern, chain).answer == str(answer)


def test_gsm8k_solutions_become_chains():
    assert chain_of("She sold 48/2 = <<48/2=24>>24 clips.\nThen 24 more.", "72") == (
        "She sold 48/2 = 24 clips. Then 24 more. The answer is 72."
    )


def test_fewshot_cot_appends_the_trigger_and_shows_the_answer():
    engine = FakeEngine()
    engine.enqueue([" 2 + 3 = 5.", " The answer is", " 5", "."])
    ran = invoke("fewshot", "word-problems", "Ada has 2 and buys 3?", "-k", "0", "--cot",
                 engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    prompt = bytes(t - 1 for t in engine.prompts[-1][1:]).decode()
    assert prompt.endswith("A: Let's think step by step.")
    assert "answer 5" in ran.stderr and "50.0%" in ran.stderr
    engine.enqueue([" I do not know."])
    ran = invoke("fewshot", "word-problems", "Why?", "-k", "1", "--json", engine=engine)
    record = json.loads(ran.stdout.splitlines()[-1])
    assert record == {"type": "answer", "answer": None, "reasoning": " I do not know.",
                      "tokens": [], "logprob": None}  # fmt: skip
    ran = invoke("fewshot", "word-problems", "Why?", "--cot-trigger", " ", engine=engine)
    assert ran.exit_code == 2 and "--cot-trigger is empty" in ran.error
