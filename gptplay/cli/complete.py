"""`gptplay complete` and `gptplay tokens`: raw completion and tokenization."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from gptplay.cli import options as o
from gptplay.cli.code import PrintCodeOpt, PrintCurlOpt, print_code
from gptplay.cli.history import NoHistoryOpt
from gptplay.errors import UsageError
from gptplay.jsonout import json_line

# `tokens` draws at most this many rows (docs: README's Errors section); --json has them all.
MAX_TABLE_ROWS = 5000
MAX_TOKENS_CHARS = 1_000_000


def read_text(text: str) -> str:
    """The argument itself, or standard input for '-'."""
    from gptplay.textin import checked, read_stdin

    if text == "-":
        return read_stdin()
    return checked(text, "the argument")


def complete(
    prompt: Annotated[str, typer.Argument(help="The prompt text, or '-' to read standard input.")],
    alts: Annotated[
        int,
        typer.Option(
            "--alts", help="Show each token's top K alternatives after the stream.", min=0, max=20
        ),
    ] = 0,
    top: Annotated[
        int, typer.Option("--top", help="Alternatives computed per token.", min=0, max=100)
    ] = 5,
    no_probs: Annotated[
        bool, typer.Option("--no-probs", help="Do not compute probabilities.")
    ] = False,
    sampled: Annotated[
        bool,
        typer.Option(
            "--sampled",
            help="Also report each token's probability "
            "after the samplers (temperature, top-k, top-p, min-p).",
        ),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="JSON Lines: one record per token, then a summary.")
    ] = False,
    verbose: o.VerboseOpt = False,
    no_history: NoHistoryOpt = False,
    code: PrintCodeOpt = False,
    curl: PrintCurlOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Stream a completion of PROMPT, each token shaded by its probability."""
    from gptplay.cli.output import OutputOptions, print_stream

    settings = flags.settings()
    text = read_text(prompt)
    if not text:
        raise UsageError("The prompt is empty.", hint="pass the text, or '-' with text on stdin.")
    if print_code(code, curl, text, settings):
        return
    engine = flags.load(settings, verbose=verbose)
    stream = engine.stream(
        text,
        settings.sampling(),
        top=max(top, alts) if not no_probs else 0,
        probs=not no_probs,
        sampled=sampled,
    )
    from gptplay import history

    recorded = history.settings_dict(settings, top=top, probs=not no_probs, sampled=sampled)
    on = history.enabled(no_history)
    with history.recording(stream, "complete", text, engine, recorded, on=on):
        print_stream(
            stream,
            OutputOptions(
                probs=not no_probs, alts=alts, json=json_out, settings=settings.as_dict()
            ),
            Console(highlight=False),
            Console(stderr=True, highlight=False),
        )
    slow = engine.rate_notice()  # a busy core holding llama.cpp's threads: say so once
    if slow:
        from gptplay.cli.notices import print_notice

        print_notice(slow, True)


def tokens(
    text: Annotated[str, typer.Argument(help="The text, or '-' to read standard input.")],
    probs: Annotated[
        bool,
        typer.Option(
            "--probs",
            help="Also show the probability the model gave each token after the text before it.",
        ),
    ] = False,
    alts: Annotated[
        int,
        typer.Option("--alts", help="With --probs: top K alternatives per token.", min=0, max=20),
    ] = 0,
    no_bos: Annotated[bool, typer.Option("--no-bos", help="Do not add the BOS token.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON record per token.")] = False,
    verbose: o.VerboseOpt = False,
    no_history: NoHistoryOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Show how TEXT splits into tokens; with --probs, how likely the model found each one."""

    from gptplay import render
    from gptplay.engine.types import ScoredToken

    body = read_text(text)
    if len(body) > MAX_TOKENS_CHARS:
        raise UsageError(
            f"the text is {len(body):,} characters; `tokens` reads at most {MAX_TOKENS_CHARS:,} "
            "(tokenizing takes seconds per megabyte).",
            hint="split the text, e.g. split -C 1000000 FILE part-, and run tokens on each.",
        )
    settings = flags.settings()
    engine = flags.load(settings, verbose=verbose)
    pieces = engine.pieces(body, add_bos=not no_bos)
    if probs:
        if len(pieces) < 2 and no_bos:
            raise UsageError("--probs needs at least two tokens (or leave out --no-bos).")
        ids = [p.id for p in pieces]
        scored = [ScoredToken(ids[0], pieces[0].bytes, None)]
        scored += engine.score_tokens(ids[:1], ids[1:], top=alts)
        from gptplay import history

        recorded = history.settings_dict(settings.model(), alts=alts, bos=not no_bos)
        on = history.enabled(no_history)
        history.record_scored("tokens", body, engine, scored, recorded, on=on)
    else:
        scored = [ScoredToken(p.id, p.bytes, None) for p in pieces]
    # BOS is a control token: no bytes of the text; its piece "<bos>" is only its name
    control = set(engine.tokenize("", add_bos=True)) if not no_bos else set()
    if json_out:
        for tok in scored:
            record = {
                "id": tok.id,
                "text": tok.text,
                "bytes": "" if tok.id in control else tok.bytes.hex(),
                "logprob": tok.logprob,
                "top": [
                    {"id": a.id, "text": a.text, "bytes": a.bytes.hex(), "logprob": a.logprob}
                    for a in tok.top
                ],
            }
            if tok.id in control:
                record["control"] = True
            print(json_line(record))
        return
    console = Console(highlight=False)
    shown = scored[:MAX_TABLE_ROWS]  # a table of a million rows takes minutes to lay out
    console.print(render.scored_tokens_table(shown, alts if probs else 0, probs, control))
    if len(scored) > len(shown):
        console.print(
            f"… and {len(scored) - len(shown):,} more tokens: the table shows the first "
            f"{MAX_TABLE_ROWS:,}; --json prints every one.",
            style="yellow",
            markup=False,
        )
    console.print(
        f"{render.plural(len(scored), 'token')} of a {engine.n_ctx}-token context · "
        f"{engine.model_name}",
        style="dim",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    app.command()(o.settings_flags(o.SAMPLING, o.MODEL)(complete))
    app.command()(o.settings_flags(o.MODEL)(tokens))
