"""Rich views of an evaluation: the results table, a terminal chart, confusion, progress."""

from __future__ import annotations

from collections.abc import Sequence

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from gptplay.evaluate.report import ShotSummary

RAW_STYLE, CAL_STYLE = "cyan", "magenta"


# Column headers per metric; the ones not in PERCENT are shown as they are.
HEADERS = {
    "accuracy": "accuracy %",
    "macro_f1": "macro-F1 %",
    "calibrated_accuracy": "calibrated acc %",
    "calibrated_macro_f1": "calibrated F1 %",
    "acc_norm": "acc_norm (chars) %",
    "acc_norm_tokens": "acc_norm (tokens) %",
    "exact": "exact match %",
    "contains": "contains %",
    "chrf": "chrF",
    "bleu": "BLEU",
    "best_of_n": "best of N %",
    "numeric": "numeric match %",
    "vote": "majority vote %",
    "vote_share": "vote share %",
    "answered": "answered %",
    "gold_logprob": "gold logprob",
}
NOT_PERCENT = {"gold_logprob"}
STYLES = {"accuracy": RAW_STYLE, "calibrated_accuracy": CAL_STYLE}


def pct(pair: tuple[float, float] | None, runs: int) -> str:
    """'82.2 ± 7.4' (percent; no spread for a single run)."""
    if pair is None:
        return "–"
    mean, std = pair
    return f"{100 * mean:.1f}" if runs < 2 else f"{100 * mean:.1f} ± {100 * std:.1f}"


def cell(name: str, pair: tuple[float, float] | None, runs: int) -> str:
    """A metric's table cell: percent, or the plain value (a mean log-probability)."""
    if name not in NOT_PERCENT or pair is None:
        return pct(pair, runs)
    mean, std = pair
    return f"{mean:.2f}" if runs < 2 else f"{mean:.2f} ± {std:.2f}"


def results_table(summaries: Sequence[ShotSummary], title: str) -> Table:
    """One row per shot count, one column per metric (mean ± std over the seeds)."""
    names = list(dict.fromkeys(k for s in summaries for k in s.metrics))
    table = Table(title=Text(title), header_style="bold", title_justify="left")
    table.add_column("shots", justify="right")
    table.add_column("seeds", justify="right", style="dim")
    first = names[0] if names else ""
    for name in names:
        style = STYLES.get(name, RAW_STYLE if name == first else "")
        table.add_column(HEADERS.get(name, name), justify="right", style=style)
    for s in summaries:
        row = [str(s.shots) + ("" if s.complete else "*"), str(s.runs)]
        row += [cell(name, s.metrics.get(name), s.runs) for name in names]
        table.add_row(*row)
    return table


def side_by_side(columns: Sequence[tuple[str, Sequence[ShotSummary]]], title: str) -> Table:
    """Prompts side by side: one row per shot count, each prompt's headline metrics."""
    table = Table(title=Text(title), header_style="bold", title_justify="left")
    table.add_column("shots", justify="right")
    heads: list[tuple[str, str, Sequence[ShotSummary]]] = []
    for name, summaries in columns:
        metric = next(iter(summaries[0].metrics)) if summaries else "accuracy"
        names = list(summaries[0].metrics) if summaries else []
        wanted = [metric] + [m for m in ("calibrated_accuracy",) if m in names]
        if metric == "vote" and len(names) > 1:  # self-consistency beside one chain's score
            wanted.append(names[1])
        for m in wanted:
            label = HEADERS.get(m, m).replace(" %", "")
            heads.append((m, f"{name}\n{label} %" if m not in NOT_PERCENT else name, summaries))
    for m, head, _ in heads:
        table.add_column(Text(head), justify="right", style=STYLES.get(m, ""))
    shots = list(dict.fromkeys(s.shots for _, ss in columns for s in ss))
    for k in shots:
        row = [str(k)]
        for m, _, summaries in heads:
            s = next((x for x in summaries if x.shots == k), None)
            mark = "" if s is None or s.complete else "*"
            row.append("–" if s is None else cell(m, s.metrics.get(m), s.runs) + mark)
        table.add_row(*row)
    return table


def chart(
    summaries: Sequence[ShotSummary],
    baseline: float | None,
    width: int = 50,
    what: str = "accuracy",
    baseline_name: str = "majority class",
) -> Text:
    """The headline metric against shots as bars; '|' marks the baseline (if any)."""
    text = Text(f"{what} against shots  ", style="bold")
    text.append(f"█ {what}", style=RAW_STYLE)
    if any(s.calibrated is not None for s in summaries):
        text.append("  ")
        text.append("█ calibrated", style=CAL_STYLE)
    if baseline is not None:
        text.append(f"  | {baseline_name} {100 * baseline:.1f}%", style="dim")
    text.append("\n")
    mark = -1 if baseline is None else round(baseline * width)
    for s in summaries:
        bars = [(s.primary, RAW_STYLE)]
        if s.calibrated is not None:
            bars.append((s.calibrated, CAL_STYLE))
        for n, (pair, style) in enumerate(bars):
            filled = round(pair[0] * width)
            text.append(f"{s.shots:>3} " if n == 0 else "    ", style="bold")
            line = ["█"] * filled + [" "] * (width - filled)
            if 0 <= mark < width and line[mark] == " ":
                line[mark] = "|"
            text.append("".join(line[:filled]), style=style)
            text.append("".join(line[filled:]), style="dim")
            text.append(f" {100 * pair[0]:5.1f}\n")
    return text


def confusion_table(
    matrix: list[list[int]],
    labels: Sequence[str],
    title: str,
    rows: Sequence[str] | None = None,
) -> Table:
    """Rows are gold labels (``rows``: how to show them), columns predictions; diagonal bold."""
    table = Table(title=Text(title), header_style="bold", title_justify="left")
    table.add_column("gold \\ predicted")
    for label in labels:  # labels come from a prompt file: text, never markup
        table.add_column(Text(label), justify="right")
    for i, label in enumerate(rows or labels):
        cells = [f"[bold]{v}[/]" if i == j else str(v) for j, v in enumerate(matrix[i])]
        table.add_row(Text(label), *cells)
    return table


class RateColumn(ProgressColumn):
    """Examples scored per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  – ex/s" if speed is None else f"{speed:5.1f} ex/s", style="green")


def progress_bar(console) -> Progress:
    """A progress bar with examples/s and time left, on the given (stderr) console."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
