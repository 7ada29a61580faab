"""Several continuations of one prompt decoded together: self-consistency's N chains.

The prompt is brought into sequence 0 once (the canonical fill, as for one stream); each
chain then borrows a sequence that shares the prompt's cells (``llama_memory_seq_cp``, no
copy) and every step decodes one token of every chain still running, as one batch. The
prompt is decoded once instead of N times, and a step of N rows costs little more than a
step of one on a CPU (the weights are read once per step). Each chain has its own sampler
(its own seed), stop matcher and UTF-8 decoder, so it ends on its own.

A chain's tokens are those of a run of N chains with these seeds: its logits come from a
batch of N rows, whose rounding can differ from a one-row step's, so the same seed alone
(``stream``) may draw differently. Grammar-constrained sampling is left to ``stream``.
"""

from __future__ import annotations

import time

from gptplay.engine.decode import Utf8Stream
from gptplay.engine.generate import _with_probs
from gptplay.engine.kvcache import PAD_SEQ, KVCache
from gptplay.engine.sampler import SamplerChain
from gptplay.engine.stops import StopMatcher
from gptplay.engine.types import Completion, SamplingParams, TokenEvent

MAX_CHAINS = PAD_SEQ - 1  # sequences 1..PAD_SEQ-1 can be lent to chains at once


class _Chain:
    """One continuation: its sequence, sampler, decoder, stop matcher and what it produced."""

    def __init__(self, engine, seq: int, seed: int, params: SamplingParams, ids: list[int]):
        self.seq, self.seed = seq, seed
        self.sampler = SamplerChain(engine._lc, params, seed, engine._candidates, ids)
        self.utf8 = Utf8Stream()
        self.stops = StopMatcher(params.stop)
        self.events: list[TokenEvent] = []
        self.count = 0
        self.finish: str | None = None
        self.token = -1

    def emit(self, event: TokenEvent) -> None:
        self.events.extend(self.stops.feed(event))
        if self.stops.stopped:
            self.finish = "stop"

    def end(self, finish: str) -> None:
        """Finish as ``stream`` does: an unfinished character's tail, then what stops held."""
        if self.finish is not None:
            return
        tail = self.utf8.finish()
        if tail:
            self.emit(TokenEvent(id=-1, bytes=b"", text=tail))
        if self.finish is None:
            self.events.extend(self.stops.flush())
        self.finish = self.finish or finish


def fits(engine, n_prompt: int, n: int, params: SamplingParams) -> bool:
    """Whether N chains of max_tokens each fit the context after the prompt, batched."""
    return (
        n_prompt + n * params.max_tokens < engine.n_ctx
        and params.constraint() is None
        and n <= MAX_CHAINS
    )


def sample_many(
    engine, ids: list[int], params: SamplingParams, seeds: list[int], top: int = 5
) -> list[Completion]:
    """One completion per seed after ``ids``, the chains decoded as one batch per step."""
    cache: KVCache = engine._cache
    start = time.perf_counter()
    cached = cache.fill(ids)
    n = len(ids)
    chains = [_Chain(engine, s + 1, seed, params, ids) for s, seed in enumerate(seeds)]
    cache.share_prefix(n, [c.seq for c in chains])
    rows = {c.seq: -1 for c in chains}  # each chain's row of logits in the last decode
    first: float | None = None
    budget = min(params.max_tokens, engine.n_ctx - n)
    try:
        step = 0
        while True:
            running = [c for c in chains if c.finish is None]
            for c in running:
                logits = cache.logits(rows[c.seq])
                token = c.sampler.sample(logits)
                if first is None:
                    first = time.perf_counter() - start
                if token < 0 or engine.is_end(token):
                    c.end("stop")
                    continue
                c.count += 1
                data = engine.piece(token)
                event = TokenEvent(id=token, bytes=data, text=c.utf8.feed(data))
                c.emit(_with_probs(engine, event, c.sampler, logits, top, True, False))
                if c.finish is None and c.count >= budget:
                    c.end("length" if budget == params.max_tokens else "context")
                c.token = token
            running = [c for c in chains if c.finish is None]
            if not running:
                break
            b = cache.batch
            b.clear()
            for i, c in enumerate(running):
                b.add([c.token], n + step, (c.seq,), True)
                rows[c.seq] = i
            cache.run()
            step += 1
    finally:
        for c in chains:
            c.sampler.close()
        cache.drop_seqs([c.seq for c in chains])
    elapsed = time.perf_counter() - start
    return [
        Completion(
            tokens=c.count,
            prompt_tokens=n,
            finish_reason=c.finish or "stop",
            seed=c.seed,
            model=engine.model_name,
            elapsed_s=elapsed,
            time_to_first_token_s=first,
            text="".join(e.text for e in c.events),
            events=tuple(c.events),
            cached_tokens=cached,
        )
        for c in chains
    ]
