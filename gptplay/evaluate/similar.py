"""Chosen demonstrations: each query's K nearest pool examples, by BM25 or by embeddings.

As in the nearest-neighbour demonstration literature (Liu et al. 2021, "What Makes Good
In-Context Examples for GPT-3?"), the K pool examples most similar to the query are the
demonstrations, the most similar placed last, nearest the query. ``similar`` ranks the
pool by BM25 over the examples' query fields (bm25s); ``embed`` by the cosine similarity
of the loaded model's own mean-pooled embeddings (``engine.embed``). A pool example whose
text equals the query's is never its own demonstration. Ties keep pool order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from gptplay.errors import UsageError

SIMILAR, EMBED = "similar", "embed"
SIMILAR_SELECTS = (SIMILAR, EMBED)
EmbedFn = Callable[[list[str]], np.ndarray]


def example_text(fields: Mapping[str, str], names: Sequence[str]) -> str:
    """What similarity compares: the query fields' text, in the prompt's order."""
    return "\n".join(str(fields.get(n, "")) for n in names)


class DemoRanker:
    """Ranks a pool's texts against a query; ``nearest(query, k)`` gives pool indices."""

    def __init__(self, texts: Sequence[str], how: str = SIMILAR, embed: EmbedFn | None = None):
        self.texts = list(texts)
        self.how = how
        self._embed = embed
        if how == SIMILAR:
            import bm25s

            from gptplay.retrieval.index import tokenize

            self._bm25 = bm25s.BM25()
            # an empty pool text gets bm25s's empty token, so every text is indexed
            self._bm25.index(tokenize(self.texts), show_progress=False)
        elif how == EMBED:
            if embed is None:
                raise UsageError("--select embed needs a model that gives embeddings.")
            self._vectors = _normalise(embed(self.texts))
        else:
            raise UsageError(f"unknown selection '{how}' (one of: random, similar, embed).")

    def scores(self, query: str) -> np.ndarray:
        """Every pool text's similarity to the query (higher is nearer)."""
        if self.how == SIMILAR:
            from gptplay.retrieval.index import tokenize

            terms = tokenize([query])[0]
            if not terms:
                return np.zeros(len(self.texts), np.float32)
            return np.asarray(self._bm25.get_scores(terms), np.float32)
        assert self._embed is not None
        q = _normalise(self._embed([query]))[0]
        return self._vectors @ q

    def nearest_all(self, queries: Sequence[str], k: int) -> list[list[int]]:
        """``nearest`` for each query (embeddings: all queries embedded in one call)."""
        if self.how == EMBED and k > 0 and queries:
            assert self._embed is not None
            qv = _normalise(self._embed(list(queries)))
            return [self._pick(q, self._vectors @ v, k) for q, v in zip(queries, qv)]
        return [self.nearest(q, k) for q in queries]

    def nearest(self, query: str, k: int) -> list[int]:
        """The k nearest pool indices, the nearest last; the query's own text left out."""
        if k <= 0:
            return []
        return self._pick(query, self.scores(query), k)

    def _pick(self, query: str, scores: np.ndarray, k: int) -> list[int]:
        order = sorted(range(len(self.texts)), key=lambda i: (-float(scores[i]), i))
        picked = [i for i in order if self.texts[i] != query][:k]
        if len(picked) < k:
            raise UsageError(
                f"{k} similar demonstrations asked for, but the pool holds {len(picked)} "
                "other examples.",
                hint="lower --shots, or give a larger pool.",
            )
        return picked[::-1]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


def engine_embedder(engine) -> EmbedFn:
    """The engine's embedding method, or a UsageError for an engine without one."""
    embed = getattr(engine, "embed", None)
    if embed is None:
        raise UsageError(
            f"--select embed: {engine.model_name} gives no embeddings here.",
            hint="use --select similar (BM25), or the local model.",
        )
    return embed


def compose_similar(spec, shots: int, fields, variables, trigger: str = "", engine=None):
    """The prompt with the ``shots`` examples of the prompt nearest the query (fewshot).

    Without ``engine`` by BM25 (--select similar); with it by the model's embeddings.
    """
    from gptplay.library import assemble

    if shots > len(spec.examples):
        from gptplay.library.compose import choose

        choose(spec.examples, shots, "first", None, spec.name)  # its error names --shots
    names = spec.query_fields
    texts = [example_text(e, names) for e in spec.examples]
    how = EMBED if engine is not None else SIMILAR
    ranker = DemoRanker(texts, how, engine_embedder(engine) if engine is not None else None)
    picked = ranker.nearest(example_text(fields, names), shots) if shots else []
    demos = [spec.examples[i] for i in picked]
    return assemble(spec, demos, fields, variables, trigger=trigger)
