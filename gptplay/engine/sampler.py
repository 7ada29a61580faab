"""llama.cpp's own sampler chain, run on a candidate array this engine owns.

The chain is llama.cpp's (penalties, top-k, top-p, min-p, temperature, a seeded dist; or
greedy at temperature 0), applied with ``llama_sampler_apply`` to a numpy buffer laid out
as ``llama_token_data``. Owning the buffer is what lets the engine read, after the draw,
the distribution the token was drawn from (the survivors and their probabilities) and,
when the chain began with top-k, the best raw candidates already sorted, at no extra cost.
No Python callback runs inside the chain, so a Ctrl-C is never lost in one.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np

from gptplay.engine.types import SamplingParams

TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
PENALTY_LAST_N = 64  # llama.cpp's default window for the repetition penalties


class Candidates:
    """A ``llama_token_data_array`` over the whole vocabulary, backed by numpy."""

    def __init__(self, lc, n_vocab: int) -> None:
        self.n_vocab = n_vocab
        self.buf = np.zeros(n_vocab, TOKEN_DATA)
        self.ids = self.buf["id"]  # field views: writing them fills the C array in place
        self.logits = self.buf["logit"]
        self.probs = self.buf["p"]
        self._all_ids = np.arange(n_vocab, dtype=np.int32)
        self.array = lc.llama_token_data_array(
            data=self.buf.ctypes.data_as(lc.llama_token_data_p),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )
        self.ref = ctypes.byref(self.array)

    def fill(self, logits: np.ndarray) -> None:
        """Every token with its logit, unsorted: what llama_sampler_sample builds in C."""
        np.copyto(self.ids, self._all_ids)
        np.copyto(self.logits, logits)
        self.array.size = self.n_vocab
        self.array.selected = -1
        self.array.sorted = False


def penalties_active(params: SamplingParams) -> bool:
    return (
        params.repeat_penalty != 1.0
        or params.presence_penalty != 0.0
        or params.frequency_penalty != 0.0
    )


class SamplerChain:
    """One generation's sampler chain: build it, ``sample`` each step, then ``close``."""

    def __init__(
        self, lc, params: SamplingParams, seed: int, candidates: Candidates, history: list[int]
    ) -> None:
        self._lc = lc
        self.cand = candidates
        self.greedy = params.temperature <= 0
        self.penalties = penalties_active(params)
        self.top_k = params.top_k
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        self._chain = chain
        add = lambda s: lc.llama_sampler_chain_add(chain, s)  # noqa: E731
        if self.penalties:
            add(
                lc.llama_sampler_init_penalties(
                    candidates.n_vocab,
                    PENALTY_LAST_N,
                    params.repeat_penalty,
                    params.frequency_penalty,
                    params.presence_penalty,
                )
            )
            for token in history[-PENALTY_LAST_N:]:  # the prompt counts, as in llama-cli
                lc.llama_sampler_accept(chain, token)
        if self.greedy:
            add(lc.llama_sampler_init_greedy())
        else:
            if params.top_k > 0:
                add(lc.llama_sampler_init_top_k(params.top_k))
            add(lc.llama_sampler_init_top_p(params.top_p, 1))
            add(lc.llama_sampler_init_min_p(params.min_p, 1))
            add(lc.llama_sampler_init_temp(params.temperature))
            add(lc.llama_sampler_init_dist(seed))
        self.token = -1

    def sample(self, logits: np.ndarray) -> int:
        """Draw the next token from the last position's logits (read in place, not kept)."""
        cand = self.cand
        cand.fill(logits)
        self._lc.llama_sampler_apply(self._chain, cand.ref)
        token = int(cand.ids[cand.array.selected])
        self._lc.llama_sampler_accept(self._chain, token)
        self.token = token
        return token

    def sorted_top(self, k: int) -> np.ndarray | None:
        """The k most likely tokens by raw logit, if the chain's top-k already sorted them.

        True when the chain began with top-k >= k and no penalty changed a logit first:
        top-k leaves its candidates sorted at the front of the buffer, and the samplers
        after it only shorten the array or rescale logits, never reorder it.
        """
        if self.greedy or self.penalties or self.top_k < k:
            return None
        return self.cand.ids[:k].copy()

    def drawn_from(self, top: int) -> tuple[float, list[tuple[int, float]]]:
        """The chosen token's log-probability after the samplers, and their top survivors."""
        if self.greedy:
            return 0.0, [(self.token, 0.0)]
        cand = self.cand
        size = int(cand.array.size)
        sel = int(cand.array.selected)
        p = cand.probs[:size]
        if cand.array.sorted:
            order = np.arange(min(top, size))
        elif size > 4 * top:
            part = np.argpartition(-p, top)[:top]
            order = part[np.argsort(-p[part], kind="stable")]
        else:
            order = np.argsort(-p, kind="stable")[:top]
        pairs = [(int(cand.ids[i]), _log(float(p[i]))) for i in order]
        return _log(float(p[sel])), pairs

    def close(self) -> None:
        if self._chain is not None:
            self._lc.llama_sampler_free(self._chain)
            self._chain = None


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf
