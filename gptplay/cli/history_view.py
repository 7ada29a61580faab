"""Rich views of recorded runs: the list, and one run shown as it was shown when it ran."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from gptplay import render
from gptplay.engine.types import ScoredToken
from gptplay.history.runs import StoredRun, preview

MIN_OUTPUT = 32  # the output column keeps this much; narrower columns go first
DROPPED_FIRST = ("model", "time", "task")  # left out, in this order, on a narrow terminal


def short_model(name: str | None) -> str:
    """A model's name without its parenthesised details ('gemma-3-270m (Q4_K_M, embedded)')."""
    return (name or "").split(" (")[0]


def runs_table(
    runs: Sequence[StoredRun], title: str = "History (newest first)", width: int = 100
) -> Table:
    """One row per run; the output preview takes what the other columns leave of ``width``.

    On a narrow terminal the model, then the time, then the task are left out, so that the
    output keeps at least MIN_OUTPUT characters (80 columns: id, command, tok, finish, output).
    """
    cells = {
        "id": [str(r.id) for r in runs],
        "time": [r.when[5:16] for r in runs],
        "command": [r.listed_command[:24] for r in runs],
        "task": [(r.task or "")[:14] for r in runs],
        "model": [short_model(r.model)[:16] for r in runs],
        "tok": [str(r.n_tokens) for r in runs],
        "finish": [r.listed_finish for r in runs],
    }
    names = list(cells)
    widths = {n: max([len(n)] + [len(c) for c in cells[n]]) for n in names}

    def rest() -> int:
        return width - sum(widths[n] for n in names) - 2 * len(names) - 1

    for name in DROPPED_FIRST:
        if rest() >= MIN_OUTPUT:
            break
        names.remove(name)
    table = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for name in names:
        right = name in ("id", "tok")
        style = "dim" if name in ("time", "model") else None
        table.add_column(
            name, justify="right" if right else "left", min_width=widths[name], style=style
        )
    table.add_column("output", no_wrap=True, overflow="ellipsis")
    for n, r in enumerate(runs):
        table.add_row(*(cells[name][n] for name in names), preview(r.listed_text, max(12, rest())))
    return table


def header(run: StoredRun) -> Text:
    """One dim line: which run, when, what, on which model, build and threads."""
    parts = [f"run {run.id}", run.when, run.command]
    if run.task:
        parts.append(run.task)
    if run.conversation:
        parts.append(f"conversation {run.conversation}")
    if run.extra and run.extra.get("comparison"):
        parts.append(f"comparison {run.extra['comparison']} ({run.extra.get('label', '')})")
    if run.parent:
        parts.append(f"from run {run.parent}")
    parts.append(run.model or "?")
    if run.build:
        parts.append(run.build)
    if run.threads:
        parts.append(f"{run.threads} thread{'' if run.threads == 1 else 's'}")
    return Text(" · ".join(parts), style="dim")


def settings_line(run: StoredRun) -> Text:
    shown = {k: v for k, v in run.settings.items() if v not in (None, [], ())}
    return Text("settings: " + ", ".join(f"{k}={v!r}" for k, v in shown.items()), style="dim")


def run_view(run: StoredRun, alts: int, prompt: bool) -> list[RenderableType]:
    """The run as it was shown: the prompt (dim), the output shaded, alternatives, summary."""
    out: list[RenderableType] = [header(run), settings_line(run)]
    if run.command == "eval":
        out.append(Text(run.extra.get("table") or run.output))
        return out
    if run.command == "tokens":
        scored = [ScoredToken(e.id, e.bytes, e.logprob, e.top) for e in run.events]
        k = alts or int(run.settings.get("alts") or 0)
        out.append(render.scored_tokens_table(scored, k, True))
        return out
    if prompt:
        out.append(Text(run.prompt, style="dim"))
    shade = any(e.logprob is not None for e in run.events)
    body = Text()
    for e in run.events:
        body.append_text(render.token_text(e, shade))
    out.append(body)
    if alts and shade:
        out.append(render.alternatives_table(run.events, alts))
    out.append(render.summary_line(run.completion()))
    return out


def print_run(console: Console, run: StoredRun, alts: int, prompt: bool) -> None:
    if console.is_terminal and run.command not in ("eval", "tokens"):
        console.print(render.legend())
    console.print(Group(*run_view(run, alts, prompt)), soft_wrap=True)
