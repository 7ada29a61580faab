"""The decode loop draws exactly what llama.cpp's own C loop draws, from the same chain."""

from __future__ import annotations

import math

import pytest

from gptplay.engine.kvcache import CHUNK, PAD_SEQ, ROW_GROUP
from gptplay.engine.types import SamplingParams

pytestmark = pytest.mark.model

PROMPT = "Once upon a time, in a small village at the edge of a great forest,"


def c_loop(model_path, n: int, seed: int, threads: int) -> list[int]:
    """llama.cpp's loop through the bindings: llama_sampler_sample, then a one-token decode."""
    import llama_cpp as lc

    from gptplay.engine.loader import load

    raw = load(lc, model_path, n_ctx=512, threads=threads, n_gpu_layers=0, verbose=False)
    try:
        data = PROMPT.encode()
        toks = (lc.llama_token * 128)()
        n_prompt = lc.llama_tokenize(raw.vocab, data, len(data), toks, 128, True, True)
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        for s in (
            lc.llama_sampler_init_top_k(40),
            lc.llama_sampler_init_top_p(0.95, 1),
            lc.llama_sampler_init_min_p(0.05, 1),
            lc.llama_sampler_init_temp(0.8),
            lc.llama_sampler_init_dist(seed),
        ):
            lc.llama_sampler_chain_add(chain, s)
        # the prompt in gptplay's canonical layout (engine/kvcache.py): one decode padded
        # to a multiple of ROW_GROUP rows with copies of its first token on PAD_SEQ
        assert n_prompt < CHUNK
        n_pad = -n_prompt % ROW_GROUP
        batch = lc.llama_batch_init(n_prompt + n_pad, 0, 1)
        for i in range(n_prompt + n_pad):
            real = i < n_prompt
            batch.token[i] = toks[i] if real else toks[0]
            batch.pos[i] = i if real else i - n_prompt
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = 0 if real else PAD_SEQ
            batch.logits[i] = i == n_prompt - 1
        batch.n_tokens = n_prompt + n_pad
        assert lc.llama_decode(raw.ctx, batch) == 0
        lc.llama_batch_free(batch)
        lc.llama_memory_seq_rm(lc.llama_get_memory(raw.ctx), PAD_SEQ, -1, -1)
        out, one = [], (lc.llama_token * 1)()
        while len(out) < n:
            tok = lc.llama_sampler_sample(chain, raw.ctx, -1)
            if lc.llama_vocab_is_eog(raw.vocab, tok):
                break
            out.append(tok)
            one[0] = tok
            assert lc.llama_decode(raw.ctx, lc.llama_batch_get_one(one, 1)) == 0
        lc.llama_sampler_free(chain)
        return out
    finally:
        raw.close(lc)


def test_same_tokens_as_llama_cpps_own_loop(engine, model_path):
    engine.reset()
    params = SamplingParams(max_tokens=24, seed=42)  # top-k 40, top-p .95, min-p .05, t .8
    events = list(engine.stream(PROMPT, params, top=5, sampled=True))
    ids = [e.id for e in events if e.id >= 0]
    assert ids == c_loop(model_path, len(ids), 42, engine.threads)
    for e in events:
        if e.id < 0:
            continue
        # the post-sampler distribution is the chain's own: it holds the drawn token
        assert e.sampled_logprob is not None and e.sampled_logprob <= 0
        assert e.id in {a.id for a in e.sampled_top} or len(e.sampled_top) == 5
        assert sum(math.exp(a.logprob) for a in e.sampled_top) <= 1 + 1e-5
        # the raw top-5 came from the chain's sorted top-k: most likely first
        lps = [a.logprob for a in e.top]
        assert lps == sorted(lps, reverse=True) and len(lps) == 5


def test_top_k_off_and_penalties_still_give_the_exact_top(engine):
    import numpy as np

    from gptplay.engine.probs import log_softmax

    engine.reset()
    params = SamplingParams(top_k=0, repeat_penalty=1.3, max_tokens=1, seed=3)
    (first,) = [e for e in engine.stream(PROMPT, params, top=5, sampled=True) if e.id >= 0]
    logits = engine._cache.logits(-1)  # still those after the prompt: one token, not decoded
    lsm = log_softmax(logits)
    assert [a.id for a in first.top] == list(np.argsort(-logits, kind="stable")[:5])
    for alt in first.top:
        assert alt.logprob == pytest.approx(lsm[alt.id], abs=1e-4)
    assert first.sampled_logprob is not None
