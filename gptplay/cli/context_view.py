"""--context and --context-k (retrieval-augmented prompts) and the listing of what was chosen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console

PANEL = "Retrieval"

ContextOpt = Annotated[
    str | None,
    typer.Option(
        "--context",
        metavar="DIR_OR_FILE",
        help="Fill the prompt's {context} with the passages of these .txt/.md files that "
        "best match the query (BM25).",
        rich_help_panel=PANEL,
    ),
]
ContextKOpt = Annotated[
    int,
    typer.Option(
        "--context-k", min=1, max=50, help="Passages --context inserts.", rich_help_panel=PANEL
    ),
]


def open_context(path: str | None, spec=None):
    """The index of --context (None without it), the prompt checked for {context} first."""
    if path is None:
        return None
    from gptplay.retrieval import check_prompt, open_index

    if spec is not None:
        check_prompt(spec)
    return open_index(path)


def describe_index(index) -> str:
    """One line: where the passages come from, how many, cached or built."""
    how = "cached index" if index.from_cache else f"indexed in {index.build_s:.2f} s"
    line = f"context: {len(index.passages)} passages from {index.root} ({how})"
    if index.skipped:
        shown = ", ".join(index.skipped[:3]) + (" …" if len(index.skipped) > 3 else "")
        line += f" · skipped {len(index.skipped)} empty or non-text file(s): {shown}"
    return line


def print_hits(err: Console, index, hits: Sequence, k: int) -> None:
    """The listing of the chosen passages: rank, BM25 score, file:line and the text's start."""
    err.print(describe_index(index), style="dim", markup=False, soft_wrap=True)
    if not hits:
        err.print(
            f"  no passage shares a word with the query: {{context}} is empty (k={k})",
            style="yellow",
            markup=False,
        )
    for h in hits:
        p = h.passage
        text = " ".join(p.text.split())
        text = text if len(text) <= 72 else text[:71] + "…"
        err.print(
            f"  {h.rank}. {h.score:6.2f}  {p.source}:{p.line}  {text}",
            style="dim",
            markup=False,
            soft_wrap=True,
        )


def context_record(index, hits: Sequence, k: int) -> dict:
    """The --json record (and history's) of the passages chosen."""
    return {
        "type": "context",
        "root": str(index.root),
        "k": k,
        "passages_indexed": len(index.passages),
        "from_cache": index.from_cache,
        "skipped": list(index.skipped),
        "passages": [h.as_dict() for h in hits],
    }
