"""Rich renderables for a comparison: columns or rows, the divergence point, a score table."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from gptplay.compare.diverge import Divergence
from gptplay.compare.run import VariantResult
from gptplay.compare.stats import mean_logprob
from gptplay.render import pct, prob_style, rate, visible

LAYOUTS = ("auto", "columns", "rows")
MIN_COLUMN = 26  # cells: narrower columns wrap a short answer into an unreadable strip
MARK = "┃"  # drawn before the first token where the outputs part
MARK_STYLE = "bold magenta"


def choose_layout(layout: str, n: int, width: int) -> str:
    """'columns' or 'rows': as asked, or columns when each gets MIN_COLUMN cells."""
    if layout != "auto":
        return layout
    return "columns" if n * (MIN_COLUMN + 3) + 1 <= width else "rows"


def output_text(result: VariantResult, div: Divergence | None, shade: bool = True) -> Text:
    """A variant's output, each token shaded by its probability, the divergence marked."""
    text = Text()
    for n, event in enumerate(result.events):
        style = prob_style(event.logprob) if shade else ""
        if div is not None and n == div.position:
            text.append(MARK, style=MARK_STYLE)
            style = f"{style} underline".strip()
        text.append(event.text, style=style)
    if div is not None and div.position == len(result.events):
        text.append(MARK + "(end)", style=MARK_STYLE)
    return text


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def summary_text(result: VariantResult, sep: str = " · ") -> Text:
    """Tokens, mean log-probability, perplexity, tok/s, finish reason and seed.

    ``sep="\n"`` puts them on three lines, for a column.
    """
    c = result.completion
    assert c is not None
    parts = (
        f"{c.tokens} token{'s' if c.tokens != 1 else ''} · "
        f"mean logprob {_num(result.mean_logprob, '.3f')}",
        f"ppl {_num(result.perplexity, '.2f')} · {rate(c)}",
        f"finish: {c.finish_reason} · seed {c.seed}",
    )
    steered = constrained_text(result)
    return Text(sep.join((*parts, steered) if steered else parts), style="dim")


def constrained_text(result: VariantResult) -> str:
    """Under a constraint: the mean constrained log-probability, and the grammar's and the
    schema's verdicts ('' for an unconstrained variant)."""
    c = result.completion
    assert c is not None
    values = [e.constrained_logprob for e in result.events]
    if c.complete is None and all(v is None for v in values):
        return ""
    parts = [f"constrained mean {_num(mean_logprob(values), '.3f')}"]
    if c.complete is not None:
        parts.append("grammar complete" if c.complete else "grammar incomplete")
    if c.schema_valid is not None:
        parts.append("JSON valid" if c.schema_valid else "JSON invalid")
    return " · ".join(parts)


def columns(results: Sequence[VariantResult], div: Divergence | None) -> Table:
    """One column per variant: its output, then its summary."""
    table = Table(box=box.SQUARE, show_lines=True, expand=True, header_style="bold")
    for r in results:
        table.add_column(r.variant.label, ratio=1, overflow="fold")
    table.add_row(*(output_text(r, div) for r in results))
    table.add_row(*(summary_text(r, "\n") for r in results))
    return table


def rows(results: Sequence[VariantResult], div: Divergence | None) -> Table:
    """One row per variant (for more variants than the width holds as columns)."""
    table = Table(box=box.SQUARE, show_lines=True, expand=True, header_style="bold")
    table.add_column("variant", no_wrap=True)
    table.add_column("output", ratio=1, overflow="fold")
    for r in results:
        table.add_row(
            Text(r.variant.label, style="bold"), Group(output_text(r, div), summary_text(r))
        )
    return table


def divergence_table(results: Sequence[VariantResult], div: Divergence) -> RenderableType:
    """Each variant's probability of every choice at the divergence point."""
    where = visible(div.common[-30:]) if div.common else "(the start)"
    title = f"Diverge at token {div.position + 1}, after: {where}"
    table = Table(title=title, box=box.SIMPLE_HEAD, header_style="bold", title_justify="left")
    table.add_column("variant")
    table.add_column("took")
    constrained = [_constrained_at(r, div.position) for r in results]
    if any(lp is not None for lp in constrained):
        table.add_column("constrained p", justify="right")
    for c in range(len(div.choices)):
        table.add_column(f"p({visible(div.choice_text(c))})", justify="right")
    for r, taken, row, clp in zip(results, div.taken, div.logprobs, constrained):
        cells = [
            Text("–" if lp is None else f"{pct(lp)} ({lp:.2f})", style="bold" if k == taken else "")
            for k, lp in enumerate(row)
        ]
        steered = (
            [] if all(lp is None for lp in constrained) else ["–" if clp is None else pct(clp)]
        )
        table.add_row(r.variant.label, visible(div.choice_text(taken)), *steered, *cells)
    if any(lp is not None for lp in constrained):
        table.caption = "constrained p: of the token taken, among those its constraint allowed"
    return table


def _constrained_at(result: VariantResult, position: int) -> float | None:
    """The constrained log-probability of the token a variant took at ``position``."""
    events = result.events
    return events[position].constrained_logprob if position < len(events) else None


def total(tokens: Sequence) -> float | None:
    """The summed log-probability of a scored continuation (None if any token has none)."""
    values = [t.logprob for t in tokens]
    return None if any(v is None for v in values) else sum(values)


def score_table(results: Sequence[VariantResult], continuations: Sequence[str]) -> Table:
    """Variants against continuations: total log-probability, p, and each token's logprob."""
    table = Table(
        title="log-probability of each continuation",
        box=box.SQUARE,
        header_style="bold",
        show_lines=True,
        title_justify="left",
    )
    table.add_column("variant")
    for text in continuations:
        table.add_column(repr(text), justify="right")
    best = [
        max(range(len(results)), key=lambda v: total(results[v].scores[c]) or -math.inf)
        for c in range(len(continuations))
    ]
    for v, r in enumerate(results):
        cells = []
        for c, tokens in enumerate(r.scores):
            lp = total(tokens)
            cell = Text(
                f"{_num(lp, '.3f')}  ({pct(lp) or '–'})", style="bold" if best[c] == v else ""
            )
            per = "  ".join(f"{visible(t.text)} {_num(t.logprob, '.2f')}" for t in tokens)
            cell.append(f"\n{per}", style="dim")
            cells.append(cell)
        table.add_row(r.variant.label, *cells)
    return table


def comparison(
    results: Sequence[VariantResult], div: Divergence | None, layout: str, width: int
) -> RenderableType:
    """The whole view: the outputs in columns or rows, then the divergence point."""
    chosen = choose_layout(layout, len(results), width)
    body = columns(results, div) if chosen == "columns" else rows(results, div)
    if div is None:
        note = "the outputs are identical" if len(results) > 1 else ""
        return Group(body, Text(note, style="dim")) if note else body
    return Group(body, divergence_table(results, div))
