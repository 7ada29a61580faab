"""The decode loop: llama_decode one token, sample with llama.cpp's chain, read the logits.

Per token it does what llama.cpp's own C loop does (fill the candidates, run the sampler
chain, decode the token) plus the probabilities: one log-sum-exp pass over the logits,
read in place, and the top-K, which the chain's top-k has usually sorted already.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from gptplay.engine.base import CancelCheck
from gptplay.engine.decode import Utf8Stream
from gptplay.engine.grammars import output_grammar
from gptplay.engine.kvcache import KVCache
from gptplay.engine.sampler import Candidates, GrammarGate, SamplerChain
from gptplay.engine.types import Alternative, SamplingParams, TokenEvent


def events(
    engine,
    ids: list[int],
    params: SamplingParams,
    seed: int,
    top: int,
    probs: bool,
    sampled: bool,
    cancel: CancelCheck | None,
    state: dict,
) -> Iterator[TokenEvent]:
    """Generate after ``ids``; ``state`` collects the finish reason, counts and timings."""
    lc = engine._lc
    cache: KVCache = engine._cache
    cand: Candidates = engine._candidates
    piece = engine.piece
    is_end = engine.is_end
    utf8 = Utf8Stream()
    budget = min(params.max_tokens, cache.n_ctx - len(ids))
    bias = engine.logit_bias(params.logit_bias) if params.logit_bias else None
    grammar = output_grammar(params)
    t0 = time.perf_counter()
    state["cached"] = cache.fill(ids)
    gate = GrammarGate(lc, engine._vocab, grammar) if grammar is not None else None
    chain = SamplerChain(lc, params, seed, cand, ids, gate, bias)
    engine._watch.start()
    try:
        while True:
            logits = cache.logits(-1)
            token = chain.sample(logits)
            if state["first"] is None:
                state["first"] = time.perf_counter() - t0
            if token < 0 or is_end(token):
                state["finish"] = "stop"
                break
            state["count"] += 1
            data = piece(token)
            event = TokenEvent(id=token, bytes=data, text=utf8.feed(data))
            if probs or sampled:
                event = _with_probs(engine, event, chain, logits, top, probs, sampled)
            yield event
            if state["count"] >= budget:
                state["finish"] = "length" if budget == params.max_tokens else "context"
                break
            if cancel is not None and cancel():
                state["finish"] = "cancelled"
                break
            cache.step(token)
            engine.note_rate()
        if gate is not None:
            ended = token < 0 or is_end(token)
            state["complete"] = ended or chain.allows(int(lc.llama_vocab_eos(engine._vocab)))
    finally:
        state["refused"] = chain.narrowings
        chain.close()
    tail = utf8.finish()
    if tail:
        yield TokenEvent(id=-1, bytes=b"", text=tail)


def _with_probs(engine, event, chain, logits, top, probs, sampled) -> TokenEvent:
    """The event with its log-probability, alternatives and post-sampler distribution."""
    logprob, alts, s_lp, s_top, c_lp = None, (), None, (), None
    if probs:
        lp, pairs = engine._reader.read(logits, event.id, top, chain.sorted_top(top))
        logprob, alts = lp, _alts(engine, pairs)
        if chain.steered:
            lse = float(logits[event.id]) - lp
            c_lp, flags = chain.constrained(logits, lse, event.id, [a.id for a in alts])
            alts = tuple(replace(a, allowed=f) for a, f in zip(alts, flags))
    if sampled:
        s_lp, pairs = chain.drawn_from(top)
        s_top = _alts(engine, pairs)
    return TokenEvent(
        id=event.id,
        bytes=event.bytes,
        text=event.text,
        logprob=logprob,
        top=alts,
        sampled_logprob=s_lp,
        sampled_top=s_top,
        constrained_logprob=c_lp,
    )


def _alts(engine, pairs: list[tuple[int, float]]) -> tuple[Alternative, ...]:
    return tuple(Alternative(i, engine.piece(i), lp) for i, lp in pairs)
