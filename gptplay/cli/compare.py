"""`gptplay compare TASK... --shots 0,1,3 -t 0,0.8`: variants of a prompt side by side."""

from __future__ import annotations

from typing import Annotated

import typer

from gptplay.cli import options as o

PROMPT = "Prompt"
VARY = "Variants (comma-separated lists are crossed)"
SHOW = "Output"


def _list(flag: str, *short: str, help: str = "") -> object:
    return Annotated[
        str | None,
        typer.Option(flag, *short, metavar="V1,V2", help=help, rich_help_panel=VARY),
    ]


def compare(
    tasks: Annotated[
        list[str],
        typer.Argument(
            metavar="TASK...", help="One or more library prompt names (or .toml files)."
        ),
    ],
    input_opt: Annotated[
        str | None,
        typer.Option(
            "--input", "-i", help="The query ('-' or piped: stdin).", rich_help_panel=PROMPT
        ),
    ] = None,
    shots: _list("--shots", "-k", help="Demonstration counts, e.g. 0,1,3 (default 3).") = None,
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
        str, typer.Option("--select", help="first | random demonstrations.", rich_help_panel=PROMPT)
    ] = "first",
    library: Annotated[
        str | None,
        typer.Option(
            "--library", help="A prompt directory searched first.", rich_help_panel=PROMPT
        ),
    ] = None,
    temperature: _list("--temperature", "-t", help="Temperatures, e.g. 0,0.8.") = None,
    top_k: _list("--top-k", help="top-k values (0 turns it off).") = None,
    top_p: _list("--top-p", help="top-p values.") = None,
    min_p: _list("--min-p", help="min-p values.") = None,
    repeat_penalty: _list("--repeat-penalty", help="Repeat penalties (1 is off).") = None,
    presence_penalty: _list("--presence-penalty", help="Presence penalties.") = None,
    frequency_penalty: _list("--frequency-penalty", help="Frequency penalties.") = None,
    max_tokens: _list("--max-tokens", "-n", help="Token budgets.") = None,
    model: _list(
        "--model", "-m", help="Models, loaded one at a time: paths, 'default', aliases, hub names."
    ) = None,
    samples: Annotated[
        int,
        typer.Option("--samples", help="N seeded samples of each variant.", rich_help_panel=VARY),
    ] = 1,
    stop: o.StopOpt = None,
    seed: o.SeedOpt = None,
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
    ctx: o.CtxOpt = 4096,
    threads: o.ThreadsOpt = None,
    gpu_layers: o.GpuLayersOpt = 0,
    verbose: o.VerboseOpt = False,
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
    if score_texts is not None and any(t == "" for t in score_texts):
        raise UsageError("--score '' is empty: give the continuation to score, like ' fromage'.")
    given = {
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "min_p": min_p,
        "repeat_penalty": repeat_penalty,
        "presence_penalty": presence_penalty,
        "frequency_penalty": frequency_penalty,
        "max_tokens": max_tokens,
    }
    request = Request(
        tasks=tuple(tasks),
        text=read_input(None, input_opt),
        shots=shots,
        variables=tuple(var or ()),
        sampling={k: v for k, v in given.items() if v is not None},
        models=model,
        samples=samples,
        seed=seed,
        select=select,
        library=library,
        stop=stop,
    )
    variants = build(request)  # every prompt composed before any model loads
    if model and "," in model:  # a missing second model is found before the first one runs
        from gptplay.engine.gguf_check import check_gguf
        from gptplay.models import resolve_model

        for name in dict.fromkeys(v.model for v in variants):
            check_gguf(resolve_model(name).path)

    def engine_for(name: str | None):
        return o.load(o.ModelOptions(name, ctx, threads, gpu_layers, verbose))

    show(variants, engine_for, score_texts, layout=layout, top=top, json_out=json_out)


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(compare)
