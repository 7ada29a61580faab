"""The real engine on the embedded model, checked against llama-cpp-python on its own."""

import numpy as np
import pytest

from gptplay.engine.probs import log_softmax
from gptplay.engine.types import SamplingParams
from gptplay.errors import ContextOverflowError
from tests.conftest import reference_logprobs

PROMPT = "The capital of France is Paris. The capital of Germany is"
GREEDY = SamplingParams(temperature=0.0, max_tokens=24)


def reference_greedy(reference, prompt: str, n: int) -> list[int]:
    tokens = reference.tokenize(prompt.encode(), add_bos=True, special=True)
    out = []
    for tok in reference.generate(tokens, temp=0.0, top_k=40, top_p=0.95, min_p=0.05):
        if reference._model.token_eos() == tok or len(out) >= n:
            break
        out.append(tok)
    reference.reset()
    return out


def full_logprobs(reference, ids: list[int], n_first: int, step: int = 1) -> np.ndarray:
    """Every position's log-softmax, from a model that keeps all logits.

    The first ``n_first`` ids are evaluated as one batch and the rest ``step`` at a time,
    as the engine does: llama.cpp's matrix kernels round differently for other batch sizes.
    """
    reference.reset()
    reference.eval(ids[:n_first])
    for i in range(n_first, len(ids), step):
        reference.eval(ids[i : i + step])
    rows = np.array(reference.scores[: len(ids)])
    reference.reset()
    return log_softmax(rows)


@pytest.mark.model
def test_greedy_matches_llama_cpp_python(engine, reference):
    events = list(engine.stream(PROMPT, GREEDY))
    ids = [e.id for e in events]
    assert ids == reference_greedy(reference, PROMPT, len(ids))
    assert len(ids) > 3


@pytest.mark.model
def test_logprobs_equal_an_independent_log_softmax(engine, reference):
    # A cached prompt re-evaluates its last token alone, and llama.cpp's kernels round a
    # one-token batch differently (about 0.01 nats): compare a fresh evaluation.
    engine.reset()
    stream = engine.stream(PROMPT, GREEDY, top=5)
    events = list(stream)
    prompt_ids = engine.tokenize(PROMPT)
    lsm = full_logprobs(reference, prompt_ids + [e.id for e in events], len(prompt_ids))
    for i, event in enumerate(events):
        row = lsm[len(prompt_ids) - 1 + i]
        assert event.logprob == pytest.approx(row[event.id], abs=1e-4)
        expected_top = np.argsort(-row)[:5]
        assert [a.id for a in event.top] == list(expected_top)
        for alt in event.top:
            assert alt.logprob == pytest.approx(row[alt.id], abs=1e-4)
        # greedy: the chosen token is the most likely one, and alternatives are sorted
        assert event.top[0].id == event.id
        lps = [a.logprob for a in event.top]
        assert lps == sorted(lps, reverse=True)


@pytest.mark.model
def test_sampled_tokens_are_consistent_with_alternatives(engine):
    params = SamplingParams(temperature=1.0, top_k=5, max_tokens=16, seed=7)
    for event in engine.stream(PROMPT, params, top=5, sampled=True):
        assert event.id in {a.id for a in event.top}  # top_k=5 keeps only these
        assert event.sampled_logprob is not None
        assert event.sampled_logprob >= event.logprob - 1e-6  # truncation concentrates mass


@pytest.mark.model
def test_same_seed_same_text_and_seed_is_reported(engine):
    params = SamplingParams(temperature=1.0, max_tokens=20, seed=1234)
    a = engine.stream(PROMPT, params).run()
    b = engine.stream(PROMPT, params).run()
    assert a.text == b.text and a.seed == b.seed == 1234
    fresh = engine.stream(PROMPT, SamplingParams(temperature=1.0, max_tokens=4)).run()
    assert 0 <= fresh.seed < 2**32


@pytest.mark.model
def test_multibyte_text_streams_exactly(engine):
    prompt = "中文：我喜欢吃苹果。\n中文：今天天气很好。\n中文："
    completion = engine.stream(prompt, SamplingParams(temperature=0.0, max_tokens=40)).run()
    ids = [e.id for e in completion.events if e.id >= 0]
    assert completion.text == engine.detokenize(ids).decode("utf-8", errors="replace")
    assert any(ord(ch) > 0x2E80 for ch in completion.text)
    assert "\ufffd" not in completion.text


@pytest.mark.model
def test_stop_sequence_split_across_tokens(engine):
    free = engine.stream(PROMPT, GREEDY).run()
    texts = [e.text for e in free.events]
    # a stop string that starts inside one token and ends inside the next
    i = next(i for i in range(1, len(texts)) if len(texts[i - 1]) >= 2 and texts[i])
    before = "".join(texts[: i - 1])
    stop = texts[i - 1][1:] + texts[i][:1]
    cut = free.text.index(stop)
    stopped = engine.stream(
        PROMPT, SamplingParams(temperature=0.0, max_tokens=24, stop=(stop,))
    ).run()
    assert stopped.text == free.text[:cut]
    assert stopped.finish_reason == "stop"
    assert len(stopped.text) >= len(before)


@pytest.mark.model
def test_cancel_between_tokens(engine):
    seen = []
    stream = engine.stream(
        PROMPT, SamplingParams(temperature=0.0, max_tokens=50), cancel=lambda: len(seen) >= 3
    )
    for e in stream:
        seen.append(e)
    assert len(seen) == 3 and stream.completion.finish_reason == "cancelled"


@pytest.mark.model
def test_prompt_longer_than_context_names_both_counts(engine):
    long_prompt = "word " * 3000
    with pytest.raises(ContextOverflowError) as info:
        engine.stream(long_prompt, GREEDY)
    assert "2048" in str(info.value) and str(len(engine.tokenize(long_prompt))) in str(info.value)


@pytest.mark.model
def test_score_equals_independent_logprobs(engine, reference):
    context = "Review: a gorgeous, witty film.\nSentiment:"
    for continuation in (" positive", " negative", " positive and warm"):
        scored = engine.score(context, continuation, top=3)  # the cache reused, or not
        ctx_ids = engine.tokenize(context)
        cont_ids = engine.tokenize(continuation, add_bos=False)
        assert [s.id for s in scored] == cont_ids
        ids = ctx_ids + cont_ids
        # one padded decode of the whole text: scoring's logits do not depend on the layout
        lsm = reference_logprobs(reference, ids[:-1], len(ctx_ids) - 1)
        for j, tok in enumerate(scored):
            row = lsm[j]
            assert tok.logprob == pytest.approx(row[tok.id], abs=1e-3)
            assert [a.id for a in tok.top] == list(np.argsort(-row)[:3])


@pytest.mark.model
def test_score_reuses_the_cached_prefix(engine):
    context = "Review: a dull, lifeless remake.\nSentiment:"
    engine.reset()
    fresh = engine.score(context, " negative")
    engine.score(context, " positive")
    again = engine.score(context, " negative")
    assert engine.last_prefix_reused == len(engine.tokenize(context)) - 1
    # same cache, other batch boundaries: equal up to llama.cpp's batch-size rounding
    assert again[0].logprob == pytest.approx(fresh[0].logprob, abs=0.1)


@pytest.mark.model
def test_generation_after_scoring_is_unchanged(engine):
    before = engine.stream(PROMPT, GREEDY).run().text
    engine.score(PROMPT, " Berlin")
    assert engine.stream(PROMPT, GREEDY).run().text == before


def test_out_of_range_params_name_the_flag():
    from gptplay.errors import UsageError

    with pytest.raises(UsageError, match="--top-p"):
        SamplingParams(top_p=1.5).validate()
