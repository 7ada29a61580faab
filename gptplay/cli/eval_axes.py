"""The axes `gptplay eval` compares side by side: --reasoning, --retrieval and --select.

Each prompt runs once per combination of the axes given, on the same test examples:
``--reasoning direct,cot`` (a chain-of-thought prompt with or without its reasoning),
``--retrieval none,bm25`` (``{context}`` empty, closed book, or filled with the top
--context-k passages of --context for each example's query) and ``--select
random,similar,embed`` (demonstrations drawn with seeds, or each example's nearest pool
examples by BM25 or by the model's embeddings).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product

from gptplay.errors import UsageError

RETRIEVALS = ("none", "bm25")
SELECTS = ("random", "similar", "embed")


def parse_axis(flag: str, text: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """'a,b' as ('a', 'b'), each one of ``allowed``; a UsageError names the flag otherwise."""
    if text is None:
        return ()
    values = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not values or any(v not in allowed for v in values):
        raise UsageError(
            f"{flag} {text!r} is not a list of {', '.join(allowed)}.",
            hint=f"like {flag} {','.join(allowed[:2])}",
        )
    return values


def open_axes(session):
    """Check the axes' flags together and open the --context index (None without it)."""
    if session.retrieval and session.context is None:
        raise UsageError(
            "--retrieval compares passages from --context with none; give --context.",
            hint="like --context docs/ --retrieval none,bm25",
        )
    if session.context is not None and not session.retrieval:
        session.retrieval = ("bm25",)
    if session.context is None:
        return None
    from gptplay.retrieval import open_index

    return open_index(session.context)


def expand(session, base) -> list:
    """The prompt once per combination of the axes (itself alone when none is given)."""
    out = []
    axes = product(
        session.reasoning or (None,), session.retrieval or (None,), session.select or (None,)
    )
    for reasoning, retrieval, select in axes:
        label = ""
        if retrieval == "none":
            label = "closed-book"
        elif retrieval == "bm25":
            label = f"bm25 top-{session.context_k}"
        out.append(
            replace(
                base,
                reasoning=reasoning,
                retrieval=retrieval,
                select=select,
                label=label,
                runs=[],
                per_query={},
                passages=[],
                chosen=[],
            )
        )
    return out


def retrieve_all(session, pe) -> None:
    """--retrieval bm25: each test example's passages, and the {context} its prompt gets."""
    if pe.retrieval != "bm25":
        return
    from gptplay.evaluate.score import query_key
    from gptplay.retrieval import CONTEXT_VAR, format_context, query_text

    for ex in pe.test:
        hits = session.index.search(query_text(ex.fields), session.context_k)
        pe.passages.append(hits)
        pe.per_query[query_key(ex.fields)] = {CONTEXT_VAR: format_context(hits)}


def choose_similar(session, pe, engine=None) -> None:
    """--select similar/embed: each test example's nearest pool examples (nearest last)."""
    from gptplay.evaluate.similar import DemoRanker, engine_embedder, example_text

    most = max(session.config.shots)
    names = pe.spec.query_fields
    texts = [example_text(e.fields, names) for e in pe.pool]
    embed = engine_embedder(engine) if engine is not None else None
    ranker = DemoRanker(texts, pe.select, embed)
    if most == 0:
        pe.chosen = [[] for _ in pe.test]
        return
    pe.chosen = ranker.nearest_all([example_text(ex.fields, names) for ex in pe.test], most)
