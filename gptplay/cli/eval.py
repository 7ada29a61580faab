"""`gptplay eval TASK --data FILE`: zero-, one- and few-shot accuracy of a prompt."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from gptplay.cli import options as o
from gptplay.cli.context_view import PANEL, ContextKOpt, ContextOpt
from gptplay.cli.eval_axes import RETRIEVALS, SELECTS, parse_axis
from gptplay.cli.fewshot import LibraryOpt, parse_vars
from gptplay.cli.history import NoHistoryOpt
from gptplay.errors import UsageError
from gptplay.jsonout import json_line

EVAL = "Evaluation"
GEN = "Generation"


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


def parse_prompts(task: str | None, prompts: str | None) -> list[str]:
    """TASK and --prompts A,B,C as one list of prompt names (TASK first), none twice."""
    names = [task] if task else []
    for part in (prompts or "").split(","):
        if part.strip():
            names.append(part.strip())
    if prompts is not None and len(names) == len([task] if task else []):
        raise UsageError(
            f"--prompts {prompts!r} names no prompt.", hint="like --prompts sst2,sentiment"
        )
    if not names:
        raise UsageError(
            "name the prompt to evaluate.", hint="like gptplay eval sst2 --data dev.jsonl"
        )
    return list(dict.fromkeys(names))


def parse_reasoning(text: str | None) -> tuple[str, ...]:
    """'direct,cot' as ('direct', 'cot'); a UsageError names anything else."""
    if text is None:
        return ()
    modes = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not modes or any(m not in ("direct", "cot") for m in modes):
        raise UsageError(
            f"--reasoning {text!r} is not direct, cot or both.", hint="like --reasoning direct,cot"
        )
    return modes


def eval_cmd(
    task: Annotated[
        str | None,
        typer.Argument(help="A library prompt, or a .toml file (or give --prompts A,B,C)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            help="Test examples: .jsonl or .csv, or OWNER/NAME[:FILE_OR_SPLIT] on the Hub.",
            rich_help_panel=EVAL,
        ),
    ] = None,
    prompts: Annotated[
        str | None,
        typer.Option(
            "--prompts",
            metavar="A,B,C",
            help="Evaluate these prompts too, on the same examples, side by side.",
            rich_help_panel=EVAL,
        ),
    ] = None,
    choices: Annotated[
        str | None,
        typer.Option(
            "--choices",
            metavar="FIELD|A,B,..",
            help="Score each example's own options: a list field, or the columns holding them.",
            rich_help_panel=EVAL,
        ),
    ] = None,
    generate: Annotated[
        str | None,
        typer.Option(
            "--generate",
            metavar="TASK[:SEED]",
            help="Draw GPT-3 arithmetic problems instead of --data: 2digit-add, 3digit-sub, ...",
            rich_help_panel=EVAL,
        ),
    ] = None,
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
            help="Score N test examples (a fixed random subset); --generate: N problems (200).",
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
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=64,
            help="Requests kept in flight on a model server (results do not depend on it).",
            rich_help_panel=EVAL,
        ),
    ] = 1,
    # ---- generation (issue 15); the sampling flags come from the settings table ----
    samples: Annotated[
        int,
        typer.Option(
            "--samples", min=1, help="Generated answers per example.", rich_help_panel=GEN
        ),
    ] = 1,
    metric: Annotated[
        str | None,
        typer.Option(
            "--metric",
            metavar="exact|numeric|contains|chrf|bleu",
            help="How a generated answer is scored (default exact, after normalisation).",
            rich_help_panel=GEN,
        ),
    ] = None,
    vote: Annotated[
        bool,
        typer.Option(
            "--vote",
            help="Self-consistency: score the majority answer of the --samples N chains.",
            rich_help_panel=GEN,
        ),
    ] = False,
    reasoning: Annotated[
        str | None,
        typer.Option(
            "--reasoning",
            metavar="direct,cot",
            help="A chain-of-thought prompt with its answer sentence alone (direct), with "
            "its reasoning (cot), or both side by side.",
            rich_help_panel=GEN,
        ),
    ] = None,
    gsm8k: Annotated[
        bool,
        typer.Option(
            "--gsm8k",
            help="Read --data (and --pool) as GSM8K JSONL: question, and an answer ending "
            "'#### N'.",
            rich_help_panel=EVAL,
        ),
    ] = False,
    # ---- end of generation flags ----
    context: ContextOpt = None,
    context_k: ContextKOpt = 3,
    retrieval: Annotated[
        str | None,
        typer.Option(
            "--retrieval",
            metavar="none,bm25",
            help="With --context: {context} empty (closed book), filled by BM25, or both "
            "side by side (default bm25).",
            rich_help_panel=PANEL,
        ),
    ] = None,
    select: Annotated[
        str | None,
        typer.Option(
            "--select",
            metavar="random,similar,embed",
            help="Demonstrations drawn with --seeds (random), or each example's nearest pool "
            "examples by BM25 (similar) or the model's embeddings (embed); several side by side.",
            rich_help_panel=EVAL,
        ),
    ] = None,
    library: LibraryOpt = None,
    verbose: o.VerboseOpt = False,
    no_history: NoHistoryOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Measure TASK's accuracy at each shot count over several demonstration seeds.

    A prompt with labels: every label is scored by the log-probability of its tokens after
    the prompt, and the best is the prediction. With --choices: each example's own options
    are scored so. A prompt without labels: the model generates the answer (greedy, up to
    the prompt's stop sequences), scored by --metric. Ctrl-C stops and still reports (and
    writes) what was finished.
    """
    from gptplay.cli.eval_report import record, report, write_plot
    from gptplay.cli.eval_run import GREEDY, EvalSession
    from gptplay.evaluate import EvalConfig
    from gptplay.evaluate.textmetrics import check_metric
    from gptplay.settings.schema import SAMPLING_NAMES

    config = EvalConfig(parse_shots(shots), seeds, calibrate, balanced, length_norm)
    if content_free:
        if not calibrate:
            raise UsageError("--content-free is for --calibrate.", hint="add --calibrate.")
        config = replace(config, content_free=tuple(content_free))
    if metric is not None:
        check_metric(metric)
    config = replace(config, samples=samples, metric=metric or "exact", vote=vote)
    if vote and samples < 2:
        raise UsageError("--vote needs several chains to vote.", hint="add --samples 5")
    if plot is not None and plot.suffix.lower() != ".png":
        raise UsageError(f"--plot {plot}: the chart is a PNG file.", hint="like --plot results.png")
    from gptplay.fileio import require_writable_target

    for target in (output, plot):  # refused now, not after the whole run
        if target is not None:
            require_writable_target(target)
    session = EvalSession(
        parse_prompts(task, prompts),
        data,
        pool,
        field,
        limit,
        parse_vars(var),
        library,
        config,
        choices=choices,
        generate=generate,
        sampling_given=[n for n in flags.given if n in SAMPLING_NAMES],
        metric_given=metric is not None,
        confusion=show_confusion,
        reasoning=parse_reasoning(reasoning),
        gsm8k=gsm8k,
        context=context,
        context_k=context_k,
        retrieval=parse_axis("--retrieval", retrieval, RETRIEVALS),
        select=parse_axis("--select", select, SELECTS),
    )
    session.prepare()
    session.set_sampling(lambda spec: flags.settings(spec.settings_layer(), defaults=GREEDY))
    out, err = Console(highlight=False, record=True), Console(stderr=True, highlight=False)
    settings = flags.settings(session.spec.settings_layer())
    engine = flags.load(settings, verbose=verbose)
    limit = getattr(engine, "max_concurrency", 0)  # 0: the local model
    if concurrency > 1 and not limit:
        raise UsageError(
            f"--concurrency {concurrency} is for a model server: the local model scores one "
            "example at a time.",
            hint="drop --concurrency, or pass --model http://HOST:PORT.",
        )
    if concurrency > limit > 0:
        err.print(
            f"[yellow]warning:[/] --concurrency {concurrency}: {engine.model_name} answers "
            f"{limit} request{'s' if limit > 1 else ''} at a time, so {limit} run"
            f"{'' if limit > 1 else 's'} at once.",
            soft_wrap=True,
        )
        concurrency = limit
    session.concurrency = concurrency
    interrupted = session.run(engine, err)
    report(session, out, show_confusion)
    from gptplay.cli.history import record_eval_session

    record_eval_session(session, engine, out.export_text(), interrupted, no_history, settings)
    if output is not None:
        from gptplay.fileio import atomic_write

        rec = record(session, engine.model_name, interrupted)
        atomic_write(output, json_line(rec, indent=1) + "\n")
        err.print(f"[green]wrote[/] {escape(str(output))}", soft_wrap=True)
    if plot is not None:
        write_plot(session, plot)
        err.print(f"[green]wrote[/] {escape(str(plot))}", soft_wrap=True)
    if interrupted:
        err.print("[yellow]interrupted: stopped by Ctrl-C; the results above are what finished.[/]")
        sys.exit(130)


def register(app: typer.Typer) -> None:
    app.command("eval", no_args_is_help=True)(o.settings_flags(o.MODEL, o.SAMPLING)(eval_cmd))
