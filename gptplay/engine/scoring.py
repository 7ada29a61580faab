"""Scoring given text: log-probabilities of continuations.

Every scoring decode is padded (see ``kvcache``), so a token's logits do not depend on the
batch layout that computed them or on what the cache held. ``score_choices`` decodes a
context's rest and the tokens of its first continuation of several tokens in one
``llama_decode``: the rest belongs to sequence 0 and to a borrowed sequence, the
continuation's tokens to the borrowed one only, right after the rest in the cache, so it
sees the context and its cells sit where a decode of context + continuation would put
them. Each further multi-token continuation is its own decode after the context.

Not done: several examples in one decode. Another sequence's cells between an example's
and the shared prefix change the order attention sums in (masked cells count as zeros in
SIMD lanes), and starting each example at a cell aligned to 8 was not enough: on SST-2,
packs of four examples moved scores by up to 0.145 nats, and were slower (336 against 396
tok/s) because every row attends over the whole pack. With flash attention (which skips
masked cells) packs were fast (0.93x prompt processing) but still 0.12 nats off. A second
context with one KV stream per sequence (kv_unified = false) packs exactly (every score
equal, 1.13-1.19x on CB and SST-2 at load 12-16): bench/eval_streams.py; not used here yet.
"""

from __future__ import annotations

from gptplay.engine.kvcache import ROW_CHUNK, ROW_GROUP, KVCache
from gptplay.engine.loader import N_BATCH
from gptplay.engine.probs import LogitReader, log_softmax
from gptplay.engine.types import Alternative, ScoredToken


def score_tokens(
    engine, context: list[int], continuation: list[int], *, top: int = 0
) -> list[ScoredToken]:
    """Score ``continuation`` token by token, reusing the KV cache for a shared prefix."""
    cache: KVCache = engine._cache
    ids = list(context) + list(continuation)
    first_needed = len(context) - 1  # the position whose logits predict continuation[0]
    n_past = cache.reuse(ids, limit=min(first_needed, cache.exact))
    out: list[ScoredToken] = []
    # Positions before the first needed one only fill the cache; no logits kept.
    if n_past < first_needed:
        cache.extend(ids[n_past:first_needed], pad=True)
        n_past = first_needed
    # the final token needs no logits, but it belongs in the cache for the next call, so it
    # rides in the last chunk rather than in a decode of its own
    for start in range(n_past, len(ids), ROW_CHUNK):
        chunk = ids[start : start + ROW_CHUNK]
        rows = cache.extend(chunk, want_rows=True, pad=True)
        lsm = log_softmax(rows)
        for row, pos in enumerate(range(start, min(start + len(chunk), len(ids) - 1))):
            nxt = ids[pos + 1]
            alts: tuple[Alternative, ...] = ()
            if top:
                best = LogitReader.top_ids(rows[row], top)
                alts = tuple(
                    Alternative(int(i), engine.piece(int(i)), float(lsm[row, i])) for i in best
                )
            out.append(ScoredToken(nxt, engine.piece(nxt), float(lsm[row, nxt]), alts))
    return out


def score_choices(engine, context: list[int], choices: list[list[int]]) -> list[list[ScoredToken]]:
    """Every choice's tokens scored after ``context``; the cache ends on the context."""
    cache: KVCache = engine._cache
    limit = min(len(context) - 1, cache.exact)
    n_past = cache.reuse(context, limit=limit)
    rest = context[n_past:]
    longer = [i for i, c in enumerate(choices) if len(c) > 1]
    first = longer[0] if longer else None
    extra = choices[first][:-1] if first is not None else []
    if len(rest) + len(extra) + ROW_GROUP > N_BATCH or len(extra) > ROW_CHUNK:
        # too long for one decode, or too many rows of logits (1 MiB each) at once
        cache.extend(rest, pad=True)
        lsm0 = log_softmax(cache.logits(-1))
        out = [[_token(engine, t, lsm0) for t in c[:1]] for c in choices]
        todo = longer
    else:
        if extra:
            cache.share_prefix(n_past, (1,))
        b = cache.batch
        b.clear()
        b.add(rest, n_past, (0, 1) if extra else (0,), False)
        b.logits[len(rest) - 1] = 1
        start = b.add(extra, len(context), (1,), True) if extra else 0
        try:
            cache.run(pad=True)
            cache.adopt_decoded(rest)
            lsm0 = log_softmax(cache.logits(len(rest) - 1))
            out = [[_token(engine, t, lsm0) for t in c[:1]] for c in choices]
            if extra:
                lsm = log_softmax(cache.rows(start, len(extra)))
                out[first] += [_token(engine, t, lsm[j]) for j, t in enumerate(choices[first][1:])]
        finally:
            if extra:
                cache.drop_seqs((1,))
        todo = longer[1:]
    for i in todo:
        lsm = log_softmax(cache.extend(choices[i][:-1], want_rows=True, pad=True))
        out[i] += [_token(engine, t, lsm[j]) for j, t in enumerate(choices[i][1:])]
        cache.keep(len(context))
    return out


def _token(engine, token: int, logprobs) -> ScoredToken:
    return ScoredToken(token, engine.piece(token), float(logprobs[token]))
