"""Scoring given text: log-probabilities of continuations, batched across sequences.

``score_choices`` decodes an example's own tokens and every label's tokens in one
``llama_decode``: the example's tokens belong to sequence 0 and to one sequence per
multi-token label, each label's tokens (all but the last) only to its own, so every label
sees the example but not the other labels. The borrowed sequences are dropped after, so
the cache ends on the context, as before.
"""

from __future__ import annotations

from gptplay.engine.kvcache import ROW_CHUNK as SCORE_CHUNK
from gptplay.engine.kvcache import KVCache
from gptplay.engine.loader import N_BATCH, N_SEQ_MAX
from gptplay.engine.probs import LogitReader, log_softmax
from gptplay.engine.types import Alternative, ScoredToken


def score_tokens(
    engine, context: list[int], continuation: list[int], *, top: int = 0
) -> list[ScoredToken]:
    """Score ``continuation`` token by token, reusing the KV cache for a shared prefix."""
    cache: KVCache = engine._cache
    ids = list(context) + list(continuation)
    first_needed = len(context) - 1  # the position whose logits predict continuation[0]
    n_past = cache.reuse(ids, limit=first_needed)
    out: list[ScoredToken] = []
    # Positions before the first needed one only fill the cache; no logits kept.
    if n_past < first_needed:
        cache.extend(ids[n_past:first_needed])
        n_past = first_needed
    for start in range(n_past, len(ids) - 1, SCORE_CHUNK):
        chunk = ids[start : min(start + SCORE_CHUNK, len(ids) - 1)]
        rows = cache.extend(chunk, want_rows=True)
        lsm = log_softmax(rows)
        for row, pos in enumerate(range(start, start + len(chunk))):
            nxt = ids[pos + 1]
            alts: tuple[Alternative, ...] = ()
            if top:
                best = LogitReader.top_ids(rows[row], top)
                alts = tuple(
                    Alternative(int(i), engine.piece(int(i)), float(lsm[row, i])) for i in best
                )
            out.append(ScoredToken(nxt, engine.piece(nxt), float(lsm[row, nxt]), alts))
    # the final token needs no logits, but it belongs in the cache for the next call
    cache.extend(ids[-1:])
    return out


def prepare_context(cache: KVCache, context: list[int], prefix: int) -> int:
    """Keep what the cache may reuse of ``context``; decode a missing prefix as one batch.

    With ``prefix``, the first ``prefix`` tokens are one batch (kept in or taken from the
    cache) and the rest another, whatever the cache held before: llama.cpp rounds
    differently per batch shape, so this makes the scores independent of call order.
    """
    prefix = min(prefix, len(context) - 1)
    n_past = cache.reuse(context, limit=prefix or len(context) - 1)
    if prefix and (n_past < prefix or cache.batch_prefix != prefix):
        # cached positions decoded in another batch shape would round differently
        cache.reuse(context, limit=0)
        cache.extend(context[:prefix])
        cache.batch_prefix = n_past = prefix
    return n_past


def score_choices(
    engine, context: list[int], choices: list[list[int]], *, prefix: int = 0
) -> list[list[ScoredToken]]:
    """Every choice's tokens scored after ``context``, in one decode with the context's rest."""
    cache: KVCache = engine._cache
    n_past = prepare_context(cache, context, prefix)
    rest = context[n_past:]
    longer = [i for i, c in enumerate(choices) if len(c) > 1]
    extra = sum(len(choices[i]) - 1 for i in longer)
    if len(longer) + 1 > N_SEQ_MAX or len(rest) + extra > N_BATCH:
        return _score_one_by_one(engine, context, choices, rest)
    seqs = range(1, len(longer) + 1)
    cache.share_prefix(n_past, seqs)
    b = cache.batch
    b.clear()
    b.add(rest, n_past, (0, *seqs), False)
    b.logits[len(rest) - 1] = 1
    starts = [b.add(choices[i][:-1], len(context), (s,), True) for i, s in zip(longer, seqs)]
    try:
        cache.run()
        cache.tokens += rest
        first = log_softmax(cache.logits(len(rest) - 1))
        out = [[ScoredToken(t, engine.piece(t), float(first[t])) for t in c[:1]] for c in choices]
        for i, start in zip(longer, starts):
            lsm = log_softmax(cache.rows(start, len(choices[i]) - 1))
            out[i] += [
                ScoredToken(t, engine.piece(t), float(lsm[j, t]))
                for j, t in enumerate(choices[i][1:])
            ]
    finally:
        cache.drop_seqs(seqs)
        cache.live = False
    return out


def _score_one_by_one(
    engine, context: list[int], choices: list[list[int]], rest: list[int]
) -> list[list[ScoredToken]]:
    """The unbatched path, for labels too many or too long for one decode."""
    cache: KVCache = engine._cache
    cache.extend(rest)
    first = log_softmax(cache.logits(-1))
    out = []
    for choice in choices:
        scored = [ScoredToken(t, engine.piece(t), float(first[t])) for t in choice[:1]]
        if len(choice) > 1:
            lsm = log_softmax(cache.extend(choice[:-1], want_rows=True))
            scored += [
                ScoredToken(t, engine.piece(t), float(lsm[i, t])) for i, t in enumerate(choice[1:])
            ]
            cache.keep(len(context))
        out.append(scored)
    return out
