"""The per-token probability shortcuts give what the slow, obvious computation gives.

LogitReader.logsumexp (two passes, no subtraction inside a safe range) against a float64
log-sum-exp, on real logits and on arrays built to break it; Candidates.fill_top against
llama.cpp's own top-k, and the sampler chain that uses it against llama.cpp's full chain.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from gptplay.engine.probs import LSE_HIGH, LSE_LOW, LogitReader
from gptplay.engine.types import SamplingParams

BOUND = 1e-5  # nats: the most the per-token log-sum-exp may differ from the exact one
N = 262_144  # Gemma 3's vocabulary


def exact(x: np.ndarray) -> float:
    x = x.astype(np.float64)
    m = x.max()
    if not math.isfinite(m):
        return float(m)
    return float(m + math.log(np.exp(x - m).sum()))


def adversarial() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.normal(0, 3, N).astype(np.float32)
    out = {}
    spike = np.full(N, -24.9, np.float32)  # everything just inside a 25-nat cut
    spike[7] = 0.0
    out["one spike, the rest 24.9 nats below"] = spike
    out["all equal"] = np.zeros(N, np.float32)
    for m in (LSE_HIGH - 0.01, LSE_HIGH + 0.01, LSE_LOW - 0.01, LSE_LOW + 0.01):
        out[f"all equal at {m:g}"] = np.full(N, m, np.float32)
        out[f"normal, max at {m:g}"] = base - base.max() + np.float32(m)
    flush = np.full(N, LSE_LOW + 0.01 - 47.5, np.float32)  # terms near float32's subnormals
    flush[0] = LSE_LOW + 0.01
    out["max at LSE_LOW, the rest 47.5 nats below"] = flush
    out["float32-sized: max 1e4"] = base * 1000 + 1e4
    out["very negative: max -1e4"] = base - 1e4
    out["wide: std 30"] = rng.normal(0, 30, N).astype(np.float32)
    with_inf = base.copy()
    with_inf[::3] = -np.inf
    out["a third -inf"] = with_inf
    two = np.full(N, -np.inf, np.float32)
    two[[5, 9]] = [88.0, 87.0]  # near float32's exp limit
    out["two finite near 88"] = two
    return out


@pytest.mark.parametrize("name", sorted(adversarial()))
def test_logsumexp_within_bound_on_adversarial_arrays(name):
    x = adversarial()[name]
    reader = LogitReader(N)
    assert abs(reader.logsumexp(x) - exact(x)) < BOUND, name
    assert abs(reader.logsumexp(x, float(x.max())) - exact(x)) < BOUND, name


def test_logsumexp_of_nothing_finite():
    reader = LogitReader(4)
    assert reader.logsumexp(np.full(4, -np.inf, np.float32)) == -math.inf


def real_rows(engine, n: int = 48) -> list[np.ndarray]:
    """The logits each token of a seeded run was drawn from."""
    engine.reset()
    rows = []
    for event in engine.stream(
        "The history of the printing press begins", SamplingParams(max_tokens=n, seed=11)
    ):
        if event.id >= 0:
            rows.append(engine._cache.logits(-1).copy())  # not yet stepped past this token
    return rows


@pytest.mark.model
def test_logsumexp_within_bound_on_real_logits(engine):
    reader = LogitReader(engine.n_vocab)
    rows = real_rows(engine)
    assert len(rows) >= 24
    for row in rows:
        assert abs(reader.logsumexp(row) - exact(row)) < BOUND
        lp, top = reader.read(row, int(row.argmax()), 5)
        assert (
            abs(sum(math.exp(p) for _, p in top) - np.exp(np.sort(row)[-5:] - exact(row)).sum())
            < 1e-5
        )


def llama_top_k(lc, row: np.ndarray, k: int):
    from gptplay.engine.sampler import Candidates

    cand = Candidates(lc, len(row))
    cand.fill(row)
    sampler = lc.llama_sampler_init_top_k(k)
    lc.llama_sampler_apply(sampler, cand.ref)
    lc.llama_sampler_free(sampler)
    size = int(cand.array.size)
    return cand.ids[:size].copy(), cand.logits[:size].copy()


def tie_rows(k: int) -> dict[str, tuple[np.ndarray, bool]]:
    """Rows with equal logits inside, at and just past the top-k's edge; fill_top's answer."""
    rng = np.random.default_rng(1)
    rows = {}
    inside = (k // 2 - 1, k // 2) if k >= 2 else None
    for name, where, ok in (
        ("tie inside the top-k", inside, inside is None),
        ("tie at the k-th/(k+1)-th edge", (k - 1, k), False),
        ("tie just past the edge", (k, k + 1), True),
        ("no tie", None, True),
    ):
        row = rng.normal(0, 4, 5000).astype(np.float32)
        order = np.argsort(-row, kind="stable")
        if where is not None:
            row[order[where[1]]] = row[order[where[0]]]
        rows[name] = (row, ok)
    return rows


@pytest.mark.parametrize("k", [1, 5, 40, 200])
def test_fill_top_is_llama_cpps_top_k_or_declines(k):
    import llama_cpp as lc

    from gptplay.engine.sampler import Candidates

    for name, (row, ok) in tie_rows(k).items():
        cand = Candidates(lc, len(row))
        assert cand.fill_top(row, k) is ok, name
        if ok:
            ids, logits = llama_top_k(lc, row, k)
            assert cand.array.size == k and cand.array.sorted
            assert list(cand.ids[:k]) == list(ids), name
            assert list(cand.logits[:k]) == list(logits), name


def draws(lc, rows, params: SamplingParams, seed: int, via_engine: bool) -> list[int]:
    """Tokens drawn from ``rows`` by SamplerChain, or by llama.cpp's whole chain on a full
    candidate array (the C loop's llama_sampler_sample does the same)."""
    from gptplay.engine.sampler import Candidates, SamplerChain

    cand = Candidates(lc, len(rows[0]))
    if via_engine:
        chain = SamplerChain(lc, params, seed, cand, [])
        try:
            return [chain.sample(row) for row in rows]
        finally:
            chain.close()
    c = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    for s in (
        lc.llama_sampler_init_top_k(params.top_k),
        lc.llama_sampler_init_top_p(params.top_p, 1),
        lc.llama_sampler_init_min_p(params.min_p, 1),
        lc.llama_sampler_init_temp(params.temperature),
        lc.llama_sampler_init_dist(seed),
    ):
        lc.llama_sampler_chain_add(c, s)
    out = []
    for row in rows:
        cand.fill(row)
        lc.llama_sampler_apply(c, cand.ref)
        token = int(cand.ids[cand.array.selected])
        lc.llama_sampler_accept(c, token)
        out.append(token)
    lc.llama_sampler_free(c)
    return out


def test_chain_draws_what_llama_cpps_whole_chain_draws_on_ties():
    """Flat rows with many ties (where fill_top declines) mixed with untied ones."""
    import llama_cpp as lc

    rng = np.random.default_rng(2)
    rows = []
    for i in range(60):
        if i % 2:
            row = rng.integers(-3, 4, 3000).astype(np.float32)  # 7 values: ties everywhere
        else:
            row = rng.normal(0, 2, 3000).astype(np.float32)
        rows.append(row)
    params = SamplingParams(temperature=1.5, top_k=40, top_p=1.0, min_p=0.0, seed=9)
    a = draws(lc, rows, params, 9, via_engine=True)
    b = draws(lc, rows, params, 9, via_engine=False)
    assert a == b
    assert len(set(a)) > 10  # a real spread of draws, not one token over and over
