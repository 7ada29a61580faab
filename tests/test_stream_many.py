"""Self-consistency's chains share one prompt decode (issue 23, speed): engine.stream_many."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gptplay.engine.fake import FakeEngine
from gptplay.engine.types import SamplingParams
from tests.cli_support import invoke

PROMPT = (
    "Q: Ann has 4 pens and buys 3 more. How many pens does she have?\n"
    "A: 4 + 3 = 7. The answer is 7.\n\n"
    "Q: Tom has 9 apples and eats 2. How many apples are left?\nA:"
)


def test_eval_votes_over_chains_drawn_in_one_stream_many_call_per_problem():
    engine = FakeEngine(n_ctx=4096)
    ran = invoke("eval", "word-problems", "--generate", "word-problems", "--limit", "2",
                 "--shots", "0", "--samples", "3", "--vote", "--temperature", "0.7",
                 engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    assert engine.many == [3, 3] and len(engine.prompts) == 6


@pytest.mark.model
def test_the_prompt_is_decoded_once_for_all_chains(engine):
    params = SamplingParams(temperature=0.8, max_tokens=16, stop=("\n",))
    ids = engine.tokenize(PROMPT)
    engine.reset()
    before = engine._cache.decoded
    done = engine.stream_many(ids, params, [1, 2, 3, 4, 5])
    decoded = engine._cache.decoded - before
    steps = max(c.tokens for c in done)
    # the prompt once, then at most one row per chain per step (not 5 prompts)
    assert len(done) == 5 and decoded <= len(ids) + 5 * steps
    assert decoded < 5 * len(ids)  # five separate runs decode at least that
    assert [c.seed for c in done] == [1, 2, 3, 4, 5]
    assert all(c.finish_reason in ("stop", "length") for c in done)
    assert all(c.text == "".join(e.text for e in c.events) for c in done)
    assert len({c.text for c in done}) > 1  # five seeds, not one chain five times


@pytest.mark.model
def test_greedy_chains_match_a_single_stream_and_leave_the_cache_usable(engine):
    greedy = SamplingParams(temperature=0.0, max_tokens=12, stop=("\n",), seed=3)
    alone = engine.stream(PROMPT, greedy).run()
    chains = engine.stream_many(PROMPT, greedy, [3, 4])
    assert [c.text for c in chains] == [alone.text, alone.text]
    assert engine.stream(PROMPT, replace(greedy, seed=5)).run().text == alone.text
    other = engine.stream("The capital of France is", replace(greedy, max_tokens=4)).run()
    assert other.text.strip()
