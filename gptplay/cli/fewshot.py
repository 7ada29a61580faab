"""`gptplay fewshot TASK --shots K`: a library prompt with K demonstrations, streamed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from gptplay.cli import options as o
from gptplay.cli.code import PrintCodeOpt, PrintCurlOpt, print_code
from gptplay.cli.context_view import ContextKOpt, ContextOpt
from gptplay.cli.history import NoHistoryOpt
from gptplay.errors import UsageError
from gptplay.jsonout import json_line

PROMPT = "Prompt"


LibraryOpt = Annotated[
    str | None,
    typer.Option(
        "--library",
        help="A prompt directory searched first (also $GPTPLAY_LIBRARY); saves go here.",
        rich_help_panel=PROMPT,
    ),
]


CotOpt = Annotated[
    bool,
    typer.Option(
        "--cot",
        help="Zero-shot chain of thought: append a trigger (Let's think step by step.) "
        "to the query.",
        rich_help_panel=PROMPT,
    ),
]
AllowQueryOpt = Annotated[
    bool,
    typer.Option(
        "--allow-query-in-demos",
        help="Keep an example equal to the query among the demonstrations (left out by "
        "default: it holds the answer).",
        rich_help_panel=PROMPT,
    ),
]
CotTriggerOpt = Annotated[
    str | None,
    typer.Option(
        "--cot-trigger",
        metavar="TEXT",
        help="The --cot trigger instead of the prompt's cot_trigger (implies --cot).",
        rich_help_panel=PROMPT,
    ),
]


def cot_trigger(spec, cot: bool, trigger: str | None) -> str:
    """The text --cot appends: --cot-trigger, else the prompt's cot_trigger, else the default."""
    from gptplay.library.reasoning import DEFAULT_TRIGGER

    if trigger is not None:
        if not trigger.strip():
            raise UsageError("--cot-trigger is empty.", hint="like --cot-trigger 'Think first.'")
        return trigger
    if not cot:
        return ""
    return spec.cot_trigger or DEFAULT_TRIGGER


def parse_vars(pairs: list[str] | None) -> dict[str, str]:
    """KEY=VALUE pairs as a dict (a UsageError names a pair without '=')."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not KEY=VALUE.", hint="like --var name=Ada")
        out[key.strip()] = value
    return out


def read_input(argument: str | None, option: str | None) -> str | None:
    """INPUT, --input, '-' or piped standard input; None when there is none."""
    if argument is not None and option is not None:
        raise UsageError("give the input once: as INPUT or with --input, not both.")
    from gptplay.textin import checked, read_stdin

    text = argument if argument is not None else option
    if text == "-" or (text is None and not sys.stdin.isatty()):
        piped = read_stdin()
        text = piped.rstrip("\n") if piped or text == "-" else None
    return None if text is None else checked(text, "the input")


def fewshot(
    task: Annotated[str, typer.Argument(help="A library prompt name, or a .toml file.")],
    input_arg: Annotated[
        str | None,
        typer.Argument(metavar="[INPUT]", help="The query ('-' or piped: standard input)."),
    ] = None,
    shots: Annotated[
        int,
        typer.Option(
            "--shots",
            "-k",
            min=0,
            help="Demonstrations: 0 zero-shot, 1 one-shot, K.",
            rich_help_panel=PROMPT,
        ),
    ] = 3,
    input_opt: Annotated[
        str | None, typer.Option("--input", "-i", help="The query.", rich_help_panel=PROMPT)
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="KEY=VALUE",
            help="KEY=VALUE for a variable or query field (repeatable).",
            rich_help_panel=PROMPT,
        ),
    ] = None,
    select: Annotated[
        str,
        typer.Option(
            "--select",
            help="first | random | similar (BM25 to the query) | embed (the model's "
            "embeddings) demonstrations.",
            rich_help_panel=PROMPT,
        ),
    ] = "first",
    show_prompt: Annotated[
        bool,
        typer.Option(
            "--show-prompt", help="Print the composed prompt first.", rich_help_panel=PROMPT
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the prompt and its token count; no generation.",
            rich_help_panel=PROMPT,
        ),
    ] = False,
    fit_ctx: Annotated[
        bool,
        typer.Option(
            "--fit", help="Drop demonstrations from the end until it fits.", rich_help_panel=PROMPT
        ),
    ] = False,
    save_as: Annotated[
        str | None,
        typer.Option(
            "--save-as",
            metavar="NAME",
            help="Save the composed prompt under NAME.",
            rich_help_panel=PROMPT,
        ),
    ] = None,
    cot: CotOpt = False,
    cot_trigger_text: CotTriggerOpt = None,
    allow_query: AllowQueryOpt = False,
    context: ContextOpt = None,
    context_k: ContextKOpt = 3,
    library: LibraryOpt = None,
    alts: Annotated[int, typer.Option("--alts", min=0, max=20, help="Top K alternatives.")] = 0,
    top: Annotated[int, typer.Option("--top", min=0, max=100, help="Alternatives computed.")] = 5,
    no_probs: Annotated[bool, typer.Option("--no-probs", help="No probabilities.")] = False,
    sampled: Annotated[bool, typer.Option("--sampled", help="Also post-sampler probs.")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON Lines: prompt, tokens, summary.")
    ] = False,
    verbose: o.VerboseOpt = False,
    no_history: NoHistoryOpt = False,
    code: PrintCodeOpt = False,
    curl: PrintCurlOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Compose TASK's instruction, K demonstrations and INPUT, then stream the answer.

    The prompt's \\[params] are the sampling defaults; a sampling flag overrides one.
    """
    from gptplay.cli.fewshot_run import FewshotRun

    run = FewshotRun(
        task=task,
        text=read_input(input_arg, input_opt),
        values=parse_vars(var),
        shots=shots,
        select=select,
        library=library,
        flags=flags,
        cot=cot,
        cot_trigger=cot_trigger_text,
        allow_query=allow_query,
        context=context,
        context_k=context_k,
    )
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    run.prepare()
    note = run.composed.left_out_note()
    if note is not None:
        err.print(f"note: {note}.", style="dim", markup=False, soft_wrap=True)
    if print_code(code, curl, run.composed.text, run.settings):
        return  # (--fit needs the model's tokenizer: the code is of the prompt as composed)
    if save_as is not None:
        from gptplay.library import check_name

        check_name(save_as)  # before the model loads: a bad name changes nothing
    engine = flags.load(run.settings, verbose=verbose)
    if select == "embed":
        run.choose_by_embedding(engine)
    n_prompt, dropped = run.measure(engine, fit_ctx)
    if save_as is not None:  # after --fit, so the saved prompt is the one that runs
        path, updated = run.save(save_as)
        err.print(
            f"[green]{'updated' if updated else 'saved'}[/] {escape(str(path))}", soft_wrap=True
        )
    from gptplay.cli.context_view import context_record, print_hits

    passages = run.index and context_record(run.index, run.hits, context_k)
    if json_out:
        print(json_line(run.record(n_prompt, engine.n_ctx, dropped)))
        if passages:
            print(json_line(passages))
    else:
        if run.index is not None:
            print_hits(err, run.index, run.hits, context_k)
        if show_prompt and not dry_run:
            err.print(run.composed.text, style="dim", markup=False, soft_wrap=True)
        err.print(
            run.describe(n_prompt, engine.n_ctx, dropped), style="dim", markup=False, soft_wrap=True
        )
    if dry_run:
        if not json_out:
            out.print(run.composed.text, markup=False, highlight=False, soft_wrap=True)
        return
    from gptplay.cli.output import OutputOptions, print_stream

    stream = engine.stream(
        run.composed.text,
        run.params,
        top=max(top, alts) if not no_probs else 0,
        probs=not no_probs,
        sampled=sampled,
    )
    shown = OutputOptions(
        probs=not no_probs, alts=alts, json=json_out, settings=run.settings.as_dict()
    )
    from gptplay import history

    recorded = history.settings_dict(
        run.settings, top=top, probs=not no_probs, sampled=sampled, shots=shots
    )
    with history.recording(
        stream, "fewshot", run.composed.text, engine, recorded, on=history.enabled(no_history),
        task=run.spec.name, prompt_file=run.spec.source,
        extra={"context": passages} if passages else None,
    ):  # fmt: skip
        completion = print_stream(stream, shown, out, err)
    if run.spec.answer_pattern:
        show_answer(run.spec.answer_pattern, completion, json_out, out, err)


def show_answer(pattern: str, completion, json_out: bool, out: Console, err: Console) -> None:
    """The answer a chain of thought ends with, apart from its reasoning (a JSON record)."""
    from gptplay.library.reasoning import read_chain
    from gptplay.render import chain_answer

    chain = read_chain(pattern, [(e.text, e.logprob) for e in completion.events])
    if json_out:
        found = chain.found
        record = {
            "type": "answer",
            "answer": None if found is None else found.answer,
            "reasoning": chain.reasoning,
            "tokens": [{"text": t, "logprob": lp} for t, lp in chain.tokens],
            "logprob": chain.logprob,
        }
        print(json_line(record))
        return
    err.print(chain_answer(chain, pattern), soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=True)(o.settings_flags(o.SAMPLING, o.MODEL)(fewshot))
