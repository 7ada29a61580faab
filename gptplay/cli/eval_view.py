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


def pct(pair: tuple[float, float] | None, runs: int) -> str:
    """'82.2 ± 7.4' (percent; no spread for a single run)."""
    if pair is None:
        return "–"
    mean, std = pair
    return f"{100 * mean:.1f}" if runs < 2 else f"{100 * mean:.1f} ± {100 * std:.1f}"


def results_table(summaries: Sequence[ShotSummary], title: str) -> Table:
    """One row per shot count: accuracy and macro-F1, with and without calibration."""
    has_cal = any(s.calibrated is not None for s in summaries)
    table = Table(title=Text(title), header_style="bold", title_justify="left")
    table.add_column("shots", justify="right")
    table.add_column("seeds", justify="right", style="dim")
    table.add_column("accuracy %", justify="right", style=RAW_STYLE)
    table.add_column("macro-F1 %", justify="right")
    if has_cal:
        table.add_column("calibrated acc %", justify="right", style=CAL_STYLE)
        table.add_column("calibrated F1 %", justify="right")
    for s in summaries:
        row = [
            str(s.shots) + ("" if s.complete else "*"),
            str(s.runs),
            pct(s.accuracy, s.runs),
            pct(s.macro_f1, s.runs),
        ]
        if has_cal:
            row += [pct(s.calibrated, s.runs), pct(s.calibrated_f1, s.runs)]
        table.add_row(*row)
    return table


def chart(summaries: Sequence[ShotSummary], baseline: float, width: int = 50) -> Text:
    """Accuracy against shots as horizontal bars; '|' marks the majority-class baseline."""
    text = Text("accuracy against shots  ", style="bold")
    text.append("█ accuracy", style=RAW_STYLE)
    if any(s.calibrated is not None for s in summaries):
        text.append("  ")
        text.append("█ calibrated", style=CAL_STYLE)
    text.append(f"  | majority class {100 * baseline:.1f}%\n", style="dim")
    mark = round(baseline * width)
    for s in summaries:
        bars = [(s.accuracy, RAW_STYLE)]
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


def confusion_table(matrix: list[list[int]], labels: Sequence[str], title: str) -> Table:
    """Rows are gold labels, columns predictions; the diagonal is bold."""
    table = Table(title=Text(title), header_style="bold", title_justify="left")
    table.add_column("gold \\ predicted")
    for label in labels:  # labels come from a prompt file: text, never markup
        table.add_column(Text(label), justify="right")
    for i, label in enumerate(labels):
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
