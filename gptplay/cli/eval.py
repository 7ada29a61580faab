"""`gptplay eval TASK --data FILE`: zero-, one- and few-shot accuracy of a labelled prompt."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from gptplay.cli import options as o
from gptplay.cli.fewshot import LibraryOpt, parse_vars
from gptplay.errors import UsageError

EVAL = "Evaluation"


def parse_shots(text: str) -> tuple[int, ...]:
    """'0,1,4,8' as (0, 1, 4, 8); a UsageError names --shots for anything else."""
    try:
        shots = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        shots = ()
    if not shots or any(k < 0 for k in shots):
        raise UsageError(
            f"--shots {text!r} is not a list of shot counts.", hint="like --shots 0,1,4,8"
        )
    return tuple(dict.fromkeys(shots))


def eval_cmd(
    task: Annotated[str, typer.Argument(help="A library prompt with labels, or a .toml file.")],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            "-d",
            help="Test examples: .jsonl or .csv, or OWNER/NAME[:FILE_OR_SPLIT] on the Hub.",
            rich_help_panel=EVAL,
        ),
    ],
    pool: Annotated[
        str | None,
        typer.Option(
            "--pool",
            help="Where demonstrations come from (default: the prompt's own examples).",
            rich_help_panel=EVAL,
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="NAME=COLUMN",
            help="Read the task's field NAME from the data's COLUMN (repeatable).",
            rich_help_panel=EVAL,
        ),
    ] = None,
    shots: Annotated[
        str,
        typer.Option("--shots", "-k", help="Shot counts, comma-separated.", rich_help_panel=EVAL),
    ] = "0,1,4,8",
    seeds: Annotated[
        int,
        typer.Option(
            "--seeds", min=1, help="Demonstration samples per shot count.", rich_help_panel=EVAL
        ),
    ] = 5,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            min=1,
            help="Score N test examples (a fixed random subset).",
            rich_help_panel=EVAL,
        ),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Also report accuracy with contextual calibration.",
            rich_help_panel=EVAL,
        ),
    ] = False,
    content_free: Annotated[
        list[str] | None,
        typer.Option(
            "--content-free",
            metavar="TEXT",
            help="A content-free input for --calibrate (repeatable; default: N/A, '', [MASK]).",
            rich_help_panel=EVAL,
        ),
    ] = None,
    balanced: Annotated[
        bool,
        typer.Option("--balanced", help="Class-balanced demonstrations.", rich_help_panel=EVAL),
    ] = False,
    length_norm: Annotated[
        bool,
        typer.Option(
            "--length-norm",
            help="Predict by log-probability per label token.",
            rich_help_panel=EVAL,
        ),
    ] = False,
    show_confusion: Annotated[
        bool,
        typer.Option(
            "--confusion", help="Print a confusion matrix per shot count.", rich_help_panel=EVAL
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write every prediction and its scores as JSON.",
            rich_help_panel=EVAL,
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Write an accuracy-against-shots PNG (needs matplotlib).",
            rich_help_panel=EVAL,
        ),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="KEY=VALUE",
            help="A prompt variable (repeatable).",
            rich_help_panel=EVAL,
        ),
    ] = None,
    library: LibraryOpt = None,
    verbose: o.VerboseOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Measure TASK's accuracy at each shot count over several demonstration seeds.

    Every label is scored by the log-probability of its tokens after the prompt; the
    best-scoring label is the prediction. Ctrl-C stops and still reports (and writes)
    what was finished.
    """
    from gptplay.cli.eval_run import EvalSession
    from gptplay.evaluate import EvalConfig

    config = EvalConfig(parse_shots(shots), seeds, calibrate, balanced, length_norm)
    if content_free:
        if not calibrate:
            raise UsageError("--content-free is for --calibrate.", hint="add --calibrate.")
        config = replace(config, content_free=tuple(content_free))
    if plot is not None and plot.suffix.lower() != ".png":
        raise UsageError(f"--plot {plot}: the chart is a PNG file.", hint="like --plot results.png")
    session = EvalSession(task, data, pool, field, limit, parse_vars(var), library, config)
    session.prepare()
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    engine = flags.load(flags.settings(session.spec.settings_layer()), verbose=verbose)
    interrupted = session.run(engine, err)
    session.report(out, show_confusion)
    if output is not None:
        from gptplay.fileio import atomic_write

        record = session.record(engine.model_name, interrupted)
        atomic_write(output, json.dumps(record, ensure_ascii=False, indent=1) + "\n")
        err.print(f"[green]wrote[/] {escape(str(output))}", soft_wrap=True)
    if plot is not None:
        session.write_plot(plot)
        err.print(f"[green]wrote[/] {escape(str(plot))}", soft_wrap=True)
    if interrupted:
        err.print("[yellow]interrupted: stopped by Ctrl-C; the results above are what finished.[/]")
        sys.exit(130)


def register(app: typer.Typer) -> None:
    app.command("eval", no_args_is_help=True)(o.settings_flags(o.MODEL)(eval_cmd))
