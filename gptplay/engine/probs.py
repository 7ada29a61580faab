"""Per-token probability math on the last position's logits, in numpy.

This sits on the per-token path, so it reuses one scratch buffer and touches the
vocabulary-sized array only with vectorised passes (max, exp, sum, argpartition).
"""

from __future__ import annotations

import math

import numpy as np

from gptplay.engine.types import SamplingParams


class LogitReader:
    """Turns a logits vector into the chosen token's log-probability and the top-K."""

    def __init__(self, n_vocab: int) -> None:
        self._scratch = np.empty(n_vocab, dtype=np.float32)

    def logsumexp(self, logits: np.ndarray) -> float:
        m = float(logits.max())
        np.subtract(logits, m, out=self._scratch)
        np.exp(self._scratch, out=self._scratch)
        return m + math.log(float(self._scratch.sum(dtype=np.float64)))

    @staticmethod
    def top_ids(logits: np.ndarray, k: int) -> np.ndarray:
        """The ids of the k largest logits, largest first."""
        k = min(k, logits.shape[0])
        idx = np.argpartition(logits, -k)[-k:]
        return idx[np.argsort(-logits[idx], kind="stable")]

    def read(
        self, logits: np.ndarray, chosen: int, k: int
    ) -> tuple[float, list[tuple[int, float]]]:
        """Log-probability of ``chosen`` and the top-k (id, logprob), most likely first."""
        lse = self.logsumexp(logits)
        top: list[tuple[int, float]] = []
        if k > 0:
            ids = self.top_ids(logits, k)
            top = [(int(i), float(logits[i]) - lse) for i in ids]
        return float(logits[chosen]) - lse, top


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax of a 1-D or 2-D (rows) array, in float64 for scoring."""
    x = logits.astype(np.float64, copy=False)
    m = x.max(axis=-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))


def sampled_distribution(
    logits: np.ndarray, params: SamplingParams, pool: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """The distribution llama.cpp's sampler chain draws from: top-k, top-p, min-p, then temperature.

    Returns (ids, log-probabilities) of the surviving candidates, most likely first. The
    candidate pool is the top ``max(top_k, pool)`` logits; mass beyond it is negligible for
    any top-p below 1. Repetition penalties are not applied here.
    """
    n = params.top_k if params.top_k > 0 else pool
    ids = LogitReader.top_ids(logits, n)
    x = logits[ids].astype(np.float64)
    if params.temperature <= 0:
        return ids[:1], np.zeros(1)
    p = np.exp(x - x.max())
    p /= p.sum()
    keep = len(ids)
    if params.top_p < 1.0:
        keep = min(keep, int(np.searchsorted(np.cumsum(p), params.top_p) + 1))
    if params.min_p > 0:
        keep = min(keep, max(1, int((p >= params.min_p * p[0]).sum())))
    x = x[:keep] / params.temperature
    return ids[:keep], x - (x.max() + math.log(np.exp(x - x.max()).sum()))
