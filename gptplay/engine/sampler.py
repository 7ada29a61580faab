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
CONSTRAINED_WIDTHS = (64, 4096, 32768)  # top tokens checked for the allowed mass before all
REDRAW_WIDTHS = (4096, 32768)  # top tokens a refused draw is drawn again from, before all
CONSTRAINED_TOL = 1e-3  # relative error allowed in a constrained probability


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

    def fill_some(self, ids: np.ndarray, logits: np.ndarray) -> None:
        """Only these tokens, in this order (a grammar's allowed few)."""
        n = len(ids)
        self.ids[:n] = ids
        self.logits[:n] = logits
        self.array.size = n
        self.array.selected = -1
        self.array.sorted = False

    def fill_top(self, logits: np.ndarray, k: int) -> bool:
        """The k best tokens only, sorted: what llama.cpp's top-k(k) leaves of ``fill``.

        Top-k keeps the k largest logits, largest first. When no two of the k + 1 largest
        are equal that result is unique, so finding it here (one threshold pass, 0.07 ms on
        Gemma's 262,144 logits) gives the chain after top-k exactly its usual input, for
        less than the fill and llama.cpp's partial sort (0.23 ms). On a tie, which of the
        tied tokens comes first is up to llama.cpp's sort: False, and nothing is written.
        """
        from gptplay.engine.probs import LogitReader

        if k + 1 > self.n_vocab:
            return False
        ids = LogitReader.top_ids(logits, k + 1)
        top = logits[ids]
        if not bool((top[:-1] > top[1:]).all()):
            return False
        self.ids[:k] = ids[:k]
        self.logits[:k] = top[:k]
        self.array.size = k
        self.array.selected = -1
        self.array.sorted = True
        return True


def penalties_active(params: SamplingParams) -> bool:
    return (
        params.repeat_penalty != 1.0
        or params.presence_penalty != 0.0
        or params.frequency_penalty != 0.0
    )


class GrammarGate:
    """llama.cpp's grammar sampler, asked about one token or narrowing the whole vocabulary.

    Checking a single token is cheap; narrowing walks all 262,144 of Gemma's tokens through
    the grammar (30-45 ms here, two decode steps), so the chain samples first and the gate
    narrows only when the drawn token is one the grammar refuses, as llama.cpp's common
    sampler does.
    """

    def __init__(self, lc, vocab, text: str) -> None:
        from gptplay.errors import UsageError

        self._lc = lc
        with _quiet_stderr():  # llama.cpp's parser prints its errors there
            sampler = lc.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
        if not sampler:
            raise UsageError(
                "llama.cpp did not accept the grammar.",
                hint="check it against llama.cpp's GBNF (grammars/README.md in llama.cpp).",
            )
        self._sampler = sampler
        self._few = np.zeros(64, TOKEN_DATA)

    def allows(self, token: int) -> bool:
        """Whether the grammar, where it stands, lets ``token`` come next."""
        return bool(self.allowed_among(np.array([token], dtype=np.int32))[0])

    def allowed_among(self, ids: np.ndarray) -> np.ndarray:
        """Which of ``ids`` the grammar lets come next (one apply over just these tokens)."""
        n = len(ids)
        if n > len(self._few):
            self._few = np.zeros(max(n, 2 * len(self._few)), TOKEN_DATA)
        few = self._few[:n]
        few["id"] = ids
        few["logit"] = 0.0
        array = self._lc.llama_token_data_array(
            data=few.ctypes.data_as(self._lc.llama_token_data_p), size=n, selected=-1,
            sorted=False,
        )  # fmt: skip
        self._lc.llama_sampler_apply(self._sampler, ctypes.byref(array))
        return np.isfinite(few["logit"])

    def narrow(self, cand: Candidates) -> bool:
        """Set every token the grammar refuses to -inf; False when it allows none at all."""
        self._lc.llama_sampler_apply(self._sampler, cand.ref)
        return bool(np.isfinite(cand.logits[: cand.array.size]).any())

    def accept(self, token: int) -> None:
        self._lc.llama_sampler_accept(self._sampler, token)

    def close(self) -> None:
        if self._sampler is not None:
            self._lc.llama_sampler_free(self._sampler)
            self._sampler = None


class _quiet_stderr:
    """File descriptor 2 pointed at /dev/null for a moment (C code printing there)."""

    def __enter__(self):
        import os
        import sys

        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.close(null)
        except OSError:
            self._saved = None
        return self

    def __exit__(self, *exc) -> None:
        import os

        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)


class SamplerChain:
    """One generation's sampler chain: build it, ``sample`` each step, then ``close``."""

    def __init__(
        self,
        lc,
        params: SamplingParams,
        seed: int,
        candidates: Candidates,
        history: list[int],
        gate: GrammarGate | None = None,
        bias: list[tuple[int, float]] | None = None,
    ) -> None:
        self._lc = lc
        self.gate = gate
        # logit bias by token id (-inf bans): llama.cpp's sampler applies it in the chain;
        # these arrays give the probabilities it leads to
        self.bias = dict(bias or ())
        self._bias_ids = np.array(list(self.bias), dtype=np.int64)
        self._bias_vals = np.array(list(self.bias.values()), dtype=np.float64)
        self.narrowed: np.ndarray | None = None  # after a refusal: the allowed logits, by id
        self.narrowings = 0  # draws the grammar refused
        self.redrawn = False  # this step's draw was refused and drawn again
        self._pending: int | None = None  # drawn, not yet handed to the grammar
        self._every: Candidates | None = None  # scratch for the constrained distribution
        self.cand = candidates
        self.greedy = params.temperature <= 0
        self.penalties = penalties_active(params)
        self.top_k = params.top_k
        # top-k stands alone when it would open the chain: ``sample`` can then often do
        # its work with ``Candidates.fill_top`` (top-k is stateless: same draws)
        self._top_k = None
        if (
            not self.greedy
            and not self.penalties
            and not self.bias  # the bias comes first: top-k must see biased logits
            and 0 < params.top_k < candidates.n_vocab
        ):
            self._top_k = lc.llama_sampler_init_top_k(params.top_k)
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        self._chain = chain
        add = lambda s: lc.llama_sampler_chain_add(chain, s)  # noqa: E731
        if self.bias:  # first, as in llama.cpp's common sampler: every later one sees it
            entries = (lc.llama_logit_bias * len(self.bias))(
                *(lc.llama_logit_bias(t, b) for t, b in self.bias.items())
            )
            add(lc.llama_sampler_init_logit_bias(candidates.n_vocab, len(self.bias), entries))
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
            if params.top_k > 0 and self._top_k is None:
                add(lc.llama_sampler_init_top_k(params.top_k))
            add(lc.llama_sampler_init_top_p(params.top_p, 1))
            add(lc.llama_sampler_init_min_p(params.min_p, 1))
            add(lc.llama_sampler_init_temp(params.temperature))
            add(lc.llama_sampler_init_dist(seed))
        self.token = -1

    def sample(self, logits: np.ndarray) -> int:
        """Draw the next token from the last position's logits (read in place, not kept).

        With a grammar, the draw is checked against it; only a refused token costs a
        second draw from what the grammar allows (``_redraw``). The grammar takes the
        token at the next ``sample`` (or ``settle``), so that ``constrained`` can still
        ask it about this position.
        """
        self.settle()
        cand = self.cand
        if self._top_k is None or not cand.fill_top(logits, self.top_k):
            cand.fill(logits)
            self._apply(cand)
        else:
            self._lc.llama_sampler_apply(self._chain, cand.ref)
        token = int(cand.ids[cand.array.selected])
        gate = self.gate
        self.narrowed = None
        self.redrawn = False
        if gate is not None and not gate.allows(token):
            self.narrowings += 1
            self.redrawn = True
            token = self._redraw(logits)
            if token < 0:
                self.token = -1
                return -1  # the grammar allows nothing at all: the caller ends the run
        self._lc.llama_sampler_accept(self._chain, token)
        if gate is not None:
            self._pending = token
        self.token = token
        return token

    def _redraw(self, logits: np.ndarray) -> int:
        """Draw again from only the tokens the grammar allows; -1 when it allows none.

        The chain needs only the best allowed tokens: greedy the first, top-k the first k.
        So the grammar is run over the most likely 4,096 (then 32,768) tokens first, and
        the chain draws from those when they hold enough allowed ones: the same draw as
        from the whole narrowed vocabulary, at a fraction of the grammar's pass over all
        262,144 tokens. Penalties can lift a token from below the cut (a negative one) and
        top-k off (0) needs every allowed token, so those take the whole pass.
        """
        from gptplay.engine.probs import LogitReader

        gate, cand = self.gate, self.cand
        assert gate is not None
        need = 1 if self.greedy else self.top_k
        if need > 0 and not self.penalties:
            ranked = logits
            if self.bias:  # the chain sees biased logits: rank by them
                ranked = logits.copy()
                ranked[self._bias_ids] += self._bias_vals
            for n in REDRAW_WIDTHS:
                if n >= cand.n_vocab:
                    break
                ids = LogitReader.top_ids(ranked, n, ordered=False).astype(np.int32)
                ok = gate.allowed_among(ids)
                if int(ok.sum()) >= need:
                    cand.fill_some(ids[ok], logits[ids[ok]])
                    self._apply(cand)
                    return int(cand.ids[cand.array.selected])
        cand.fill(logits)
        if not gate.narrow(cand):
            return -1
        self.narrowed = cand.logits.copy()  # by id: -inf where the grammar refuses
        if self.bias:
            self.narrowed[self._bias_ids] += self._bias_vals
        self._apply(cand)
        return int(cand.ids[cand.array.selected])

    def _apply(self, cand: Candidates) -> None:
        """The whole chain on a full candidate array (top-k first where it stands alone)."""
        if self._top_k is not None:
            self._lc.llama_sampler_apply(self._top_k, cand.ref)
        self._lc.llama_sampler_apply(self._chain, cand.ref)

    def settle(self) -> None:
        """Hand the grammar the last token drawn (done by the next ``sample`` anyway)."""
        if self._pending is not None and self.gate is not None:
            self.gate.accept(self._pending)
        self._pending = None

    def allows(self, token: int) -> bool:
        """Whether the grammar, after every token drawn so far, lets ``token`` come next."""
        self.settle()
        return self.gate is None or self.gate.allows(token)

    @property
    def steered(self) -> bool:
        """Whether a grammar or a logit bias stands between the model and the draw."""
        return self.gate is not None or bool(self.bias)

    def constrained(
        self, logits: np.ndarray, lse: float, token: int, alt_ids: list[int]
    ) -> tuple[float, tuple[bool, ...]]:
        """The drawn token's log-probability after the logit bias and among what the
        grammar allows, and which of ``alt_ids`` could have come next (not banned, and
        allowed by the grammar): the softmax of the biased logits over the allowed tokens.

        After a refusal the full pass gave the exact allowed set. Otherwise the allowed
        mass is summed over the most likely tokens, widening (CONSTRAINED_WIDTHS, then all)
        until the mass left outside is under CONSTRAINED_TOL of the allowed mass; the result is
        then within that relative error and the whole-vocabulary pass is rarely paid.
        """
        gate = self.gate
        if self.bias:
            if gate is None:  # the bias alone: no copy of the logits, only its own tokens
                lse = self._biased_lse(logits, lse)
                lp = float(logits[token]) + self.bias.get(token, 0.0) - lse
                return lp, tuple(self.bias.get(i, 0.0) != -math.inf for i in alt_ids)
            biased = logits.copy()
            biased[self._bias_ids] += self._bias_vals
            lse, logits = self._biased_lse(logits, lse), biased
        assert gate is not None
        if self.narrowed is not None:
            allowed_logits = self.narrowed
            return (
                float(logits[token]) - _logsumexp(allowed_logits),
                tuple(bool(np.isfinite(allowed_logits[i])) for i in alt_ids),
            )
        from gptplay.engine.probs import LogitReader

        for n in CONSTRAINED_WIDTHS:
            if n >= len(logits):
                break
            ids = LogitReader.top_ids(logits, n, ordered=False)
            ok = gate.allowed_among(ids.astype(np.int32))
            p = np.exp(logits[ids].astype(np.float64) - lse)
            inside, allowed = float(p.sum()), float(p[ok].sum())
            if allowed > 0 and 1.0 - inside <= CONSTRAINED_TOL * allowed:
                flags = dict(zip(ids.tolist(), ok.tolist()))
                return (
                    float(logits[token]) - lse - math.log(allowed),
                    tuple(
                        (bool(flags[i]) if i in flags else gate.allows(i))
                        and self.bias.get(i, 0.0) != -math.inf
                        for i in alt_ids
                    ),
                )
        every = self._every
        if every is None:
            every = self._every = Candidates(self._lc, len(logits))
        every.fill(logits)
        gate.narrow(every)
        allowed_logits = every.logits
        return (
            float(logits[token]) - _logsumexp(allowed_logits),
            tuple(bool(np.isfinite(allowed_logits[i])) for i in alt_ids),
        )

    def _biased_lse(self, logits: np.ndarray, lse: float) -> float:
        """The log-sum-exp after the bias, from the raw one: only the biased tokens change.

        Exact but for rounding while the unbiased tokens keep a share worth keeping
        (over 5%, so the subtraction loses no more than ~1e-6 relative); otherwise summed
        over the whole biased vocabulary.
        """
        p = np.exp(logits[self._bias_ids].astype(np.float64) - lse)
        rest = 1.0 - float(p.sum())
        if rest > 0.05:
            return lse + math.log(rest + float((p * np.exp(self._bias_vals)).sum()))
        biased = logits.copy()
        biased[self._bias_ids] += self._bias_vals
        return _logsumexp(biased)

    def sorted_top(self, k: int) -> np.ndarray | None:
        """The k most likely tokens by raw logit, if the chain's top-k already sorted them.

        True when the chain began with top-k >= k and no penalty changed a logit first:
        top-k leaves its candidates sorted at the front of the buffer, and the samplers
        after it only shorten the array or rescale logits, never reorder it.
        """
        if self.greedy or self.penalties or self.bias or self.top_k < k or self.redrawn:
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
        if self.gate is not None:
            self.gate.close()
            self.gate = None
        if self._chain is not None:
            self._lc.llama_sampler_free(self._chain)
            self._chain = None
        if self._top_k is not None:
            self._lc.llama_sampler_free(self._top_k)
            self._top_k = None


def _logsumexp(logits: np.ndarray) -> float:
    """log(sum(exp)) over the finite logits (-inf where the grammar refused)."""
    m = float(logits.max())
    if not math.isfinite(m):
        return -math.inf
    return m + math.log(float(np.exp(logits.astype(np.float64) - m).sum()))


def _log(p: float) -> float:
    return math.log(p) if p > 0 else -math.inf
