"""Label and text scoring on a model server: prompt log-probabilities where it has them,
else each position's top-K (the n_probs method), with a clear error where a token falls
outside it. Mixed into RemoteEngine."""

from __future__ import annotations

from gptplay.engine.remote.api import Key
from gptplay.engine.remote.transport import RemoteError
from gptplay.engine.types import Alternative, ScoredToken

SCORE_TOP = 1000  # top-K asked for at a label position when a server has no prompt logprobs


class RemoteScoring:
    """score, score_tokens and score_choices for RemoteEngine (``self.api``, ``self.url``)."""

    def score(self, context: str, continuation: str, *, top: int = 0) -> list[ScoredToken]:
        ids = self.tokenize(context)
        return self.score_tokens(ids, self.tokenize(continuation, add_bos=False), top=top)

    def score_tokens(
        self, context: list[int], continuation: list[int], *, top: int = 0
    ) -> list[ScoredToken]:
        """Each continuation token's log-probability: from prompt logprobs where the server
        has them, else from the top-K at each position (one request per token)."""
        if not context:
            raise ValueError("score_tokens needs at least one context token (e.g. BOS)")
        ids = list(context) + list(continuation)
        self.check_fits(len(ids), "text to score")
        caps = self.api.caps
        if caps.prompt_logprobs or caps.echo:
            with self.api.check.reading("a scoring request"):
                rows = self.api.prompt_scores(ids, len(context), top)
            self._used("prompt_logprobs" if caps.prompt_logprobs else "echo", len(continuation))
            out = [
                ScoredToken(
                    t,
                    self.piece(t),
                    row[0],
                    tuple(Alternative(i if i is not None else -1, b, lp) for i, b, lp in row[1]),
                )
                for t, row in zip(continuation, rows)
            ]
            if out and out[0].logprob is None and len(context) > 1:
                # OpenAI's echo leaves the first token out; ask at its position instead
                # (after BOS alone llama-cpp-python's server sends no logprobs at all)
                out[0] = self._from_top(ids[: len(context)], continuation[0], top)
            return out
        return [self._from_top(ids[:pos], ids[pos], top) for pos in range(len(context), len(ids))]

    def score_choices(
        self, context: list[int], choices: list[list[int]]
    ) -> list[list[ScoredToken]]:
        """Score continuations of one context; the context's top-K serves every first token."""
        if not context:
            raise ValueError("score_choices needs at least one context token (e.g. BOS)")
        self.check_fits(len(context) + max((len(c) for c in choices), default=0), "text to score")
        cache: dict[tuple[int, ...], dict[Key, float]] = {}
        return [
            [self._from_top(list(context) + choice[:j], t, 0, cache) for j, t in enumerate(choice)]
            for choice in choices
        ]

    def _from_top(
        self, ids: list[int], token: int, top: int, cache: dict | None = None
    ) -> ScoredToken:
        """``token``'s log-probability after ``ids``, read from the server's top-K there."""
        k = max(SCORE_TOP if self.api.caps.max_top is None else self.api.caps.max_top, top)
        key = tuple(ids)
        table = cache.get(key) if cache is not None else None
        if table is None:
            with self.api.check.reading("a scoring request"):
                table = self.api.next_top(ids, k)
            if cache is not None:
                cache[key] = table
        data = self.piece(token)
        look: Key = token if self.api.caps.token_ids else data
        if look not in table:
            if self.api.caps.echo:  # exact, one request for the whole prompt
                with self.api.check.reading("a scoring request"):
                    (row,) = self.api.prompt_scores(ids + [token], len(ids), top)
                self._used("prompt_logprobs" if self.api.caps.prompt_logprobs else "echo", 1)
                return ScoredToken(token, data, row[0])
            raise RemoteError(
                f"token {data.decode('utf-8', 'replace')!r} (id {token}) is not among the "
                f"top {k} the server at {self.url} reports at position {len(ids)}, and it has "
                "no prompt log-probabilities, so its log-probability is unknown.",
                hint="raise the server's n_probs limit, shorten the label words, or serve the "
                "model with vLLM (prompt_logprobs) for exact scores.",
            )
        self._used(f"top-{k}", 1)
        ranked = sorted(table.items(), key=lambda kv: -kv[1])[:top]
        alts = tuple(
            Alternative(
                a if isinstance(a, int) else -1, self.piece(a) if isinstance(a, int) else a, lp
            )
            for a, lp in ranked
        )
        return ScoredToken(token, data, table[look], alts)

    def _used(self, method: str, n: int) -> None:
        with self._lock:  # eval --concurrency scores from several threads
            self.scoring_methods[method] = self.scoring_methods.get(method, 0) + n

    def scoring_report(self) -> str:
        """Which method gave the label log-probabilities, for eval's report."""
        names = {
            "echo": "echoed prompt log-probabilities",
            "prompt_logprobs": "vLLM's prompt_logprobs",
        }
        parts = [
            f"{n} token{'s' if n != 1 else ''} from "
            + names.get(
                m, f"the {m} next-token log-probabilities at each position (n_probs method)"
            )
            for m, n in sorted(self.scoring_methods.items())
        ]
        return f"labels scored on {self.url} ({self.server_kind}): " + "; ".join(parts) + "."
