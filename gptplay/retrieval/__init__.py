"""Retrieval for prompts: passages of a context directory ranked by BM25. No terminal code.

API:

- ``open_index(path) -> ContextIndex``: the context's text and markdown files chunked into
  passages (``corpus.chunk``) and indexed with bm25s; cached under the data directory and
  built again when a file changes. Bad paths raise ``ContextError`` (a UsageError).
- ``ContextIndex.search(query, k) -> [Hit(rank, score, passage)]``, best first.
- ``format_context(hits)``: the text a prompt's ``{context}`` variable receives.
- ``query_text(fields)``: what a query's fields search for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gptplay.retrieval.corpus import ContextError, Passage
from gptplay.retrieval.index import ContextIndex, Hit, open_index

CONTEXT_VAR = "context"  # the prompt variable --context fills
DEFAULT_K = 3


def format_context(hits: Sequence[Hit]) -> str:
    """What ``{context}`` receives: each passage then a blank line, best first ("" for none).

    So ``instruction = "{context}Answer each question."`` reads well with passages and
    without them (closed book).
    """
    return "".join(h.passage.text + "\n\n" for h in hits)


def check_prompt(spec) -> None:
    """A ContextError unless the prompt has a ``{context}`` variable for the passages."""
    if CONTEXT_VAR not in spec.variables:
        raise ContextError(
            f"--context: prompt '{spec.name}' has no {{{CONTEXT_VAR}}} placeholder for the "
            "passages.",
            hint=f"use the built-in qa-context prompt, or add {{{CONTEXT_VAR}}} to the "
            f'instruction and declare it under [variables] ({CONTEXT_VAR} = "").',
        )


def retrieve_into(
    index: ContextIndex, k: int, fields: Mapping[str, str], variables: Mapping[str, str]
) -> tuple[dict[str, str], list[Hit]]:
    """The variables with ``{context}`` filled from the passages best matching the query."""
    hits = index.search(query_text(fields), k)
    return {**variables, CONTEXT_VAR: format_context(hits)}, hits


def query_text(fields: Mapping[str, str]) -> str:
    """The text retrieval searches with: the query's fields, joined."""
    return " ".join(v for v in fields.values() if v)


__all__ = [
    "CONTEXT_VAR",
    "DEFAULT_K",
    "ContextError",
    "ContextIndex",
    "Hit",
    "Passage",
    "check_prompt",
    "format_context",
    "open_index",
    "query_text",
    "retrieve_into",
]
