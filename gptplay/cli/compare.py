"""`gptplay compare TASK... --shots 0,1,3 -t 0,0.8`: variants of a prompt side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from gptplay.cli import options as o
from gptplay.cli.compare_flags import LISTED_NAMES, MAX_VARIANTS, REPEATED_NAMES, VARY, list_flags
from gptplay.cli.fewshot import AllowQueryOpt
from gptplay.cli.history import NoHistoryOpt

PROMPT = "Prompt"
SHOW = "Output"


def compare(
    tasks: Annotated[
        list[str] | None,
        typer.Argument(metavar="TASK", help="One or more library prompt names (or .toml files)."),
    ] = None,
    input_opt: Annotated[
        str | None,
        typer.Option(
            "--input", "-i", help="The query ('-' or piped: stdin).", rich_help_panel=PROMPT
        ),
    ] = None,
    shots: Annotated[
        str | None,
        typer.Option(
            "--shots",
            "-k",
            metavar="V1,V2",
            help="Demonstration counts to compare, e.g. 0,1,3 (default 3).",
            rich_help_panel=VARY,
        ),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="KEY=V1,V2",
            help="Values of a variable or query field (repeatable).",
            rich_help_panel=VARY,
        ),
    ] = None,
    select: Annotated[
        str,
        typer.Option(
            "--select", help="first | random | similar demonstrations.", rich_help_panel=PROMPT
        ),
    ] = "first",
    library: Annotated[
        str | None,
        typer.Option(
            "--library", help="A prompt directory searched first.", rich_help_panel=PROMPT
        ),
    ] = None,
    allow_query: AllowQueryOpt = False,
    samples: Annotated[
        int,
        typer.Option("--samples", help="N seeded samples of each variant.", rich_help_panel=VARY),
    ] = 1,
    max_variants: Annotated[
        int,
        typer.Option(
            "--max-variants",
            min=1,
            metavar="N",
            help="The most variants to run (the lists cross to the product of their lengths).",
            rich_help_panel=VARY,
        ),
    ] = MAX_VARIANTS,
    score_texts: Annotated[
        list[str] | None,
        typer.Option(
            "--score",
            metavar="TEXT",
            help="No generation: each variant's log-probability of TEXT after its prompt "
            "(repeatable: a table of variants against continuations).",
            rich_help_panel=SHOW,
        ),
    ] = None,
    layout: Annotated[
        str,
        typer.Option("--layout", help="auto | columns | rows.", rich_help_panel=SHOW),
    ] = "auto",
    top: Annotated[
        int,
        typer.Option(
            "--top", min=1, max=100, help="Alternatives kept per token.", rich_help_panel=SHOW
        ),
    ] = 5,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="JSON Lines: one record per variant, then the divergence.",
            rich_help_panel=SHOW,
        ),
    ] = False,
    runs: Annotated[
        str | None,
        typer.Option(
            "--runs",
            metavar="ID,ID",
            help="Recorded runs side by side, without running again (one id of a "
            "comparison: all of it).",
            rich_help_panel=SHOW,
        ),
    ] = None,
    no_history: NoHistoryOpt = False,
    verbose: o.VerboseOpt = False,
    *,
    flags: o.Flags,
    lists: dict[str, object],
) -> None:
    """Run variants of TASK side by side: shot counts, prompts, variables, settings, models.

    Each output is shaded by probability, with its mean log-probability and perplexity;
    the first token where the outputs part is marked, with each variant's odds of each
    choice. Variants sharing a prompt prefix evaluate it once (the KV cache).
    """
    from gptplay.cli.compare_build import Request, build
    from gptplay.cli.compare_show import show
    from gptplay.cli.fewshot import read_input
    from gptplay.compare.view import LAYOUTS
    from gptplay.errors import UsageError

    if layout not in LAYOUTS:
        raise UsageError(f"--layout {layout!r} is not one of: {', '.join(LAYOUTS)}.")
    if runs is not None:
        if tasks:
            raise UsageError("give TASK... or --runs, not both.")
        from gptplay.cli.compare_show import print_results
        from gptplay.compare import divergence, parse_list, stored
        from gptplay.history.runs import parse_id

        results = stored.reopen(parse_list("--runs", runs, lambda t: parse_id(t, "--runs")))
        print_results(results, divergence(results), layout, json_out)
        return
    if not tasks:
        raise UsageError(
            "name a prompt to compare variants of.",
            hint="like: gptplay compare translate --shots 0,1,3 --input cheese",
        )
    if select == "embed":  # compare composes every variant before any model loads
        raise UsageError(
            "compare --select embed is not supported: embeddings need the model before the "
            "variants are composed.",
            hint="--select similar chooses by BM25 here; fewshot --select embed by embeddings.",
        )
    if score_texts is not None and any(t == "" for t in score_texts):
        raise UsageError("--score '' is empty: give the continuation to score, like ' fromage'.")
    request = Request(
        tasks=tuple(tasks),
        text=read_input(None, input_opt),
        shots=shots,
        variables=tuple(var or ()),
        lists=lists,
        samples=samples,
        select=select,
        library=library,
        flags=flags,
        max_variants=max_variants,
        allow_query=allow_query,
    )
    built = build(request)  # every prompt composed before any model loads
    if built.note is not None:
        from rich.console import Console

        Console(stderr=True).print(f"note: {built.note}.", style="dim", markup=False)
    by_model = {}
    for variant, resolved in zip(built.variants, built.settings):
        by_model.setdefault(variant.model, resolved)
    if len(by_model) > 1:  # a missing model is found before the first one runs
        from gptplay.engine.gguf_check import check_gguf
        from gptplay.models import resolve_model

        for name in by_model:
            check_gguf(resolve_model(name).path)

    def engine_for(name: str | None):
        return flags.load(by_model[name], verbose=verbose)

    from gptplay import history

    show(
        built.variants, engine_for, score_texts, layout=layout, top=top, json_out=json_out,
        history_on=history.enabled(no_history),
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    excluded = LISTED_NAMES + REPEATED_NAMES
    command = o.settings_flags(o.SAMPLING, o.MODEL, exclude=excluded)(list_flags(compare))
    app.command(no_args_is_help=True)(command)
