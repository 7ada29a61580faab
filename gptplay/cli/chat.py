"""`gptplay chat`: a streaming multi-turn chat in the terminal, or one reply for piped input."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gptplay.cli import options as o
from gptplay.cli.fewshot import LibraryOpt
from gptplay.cli.history import NoHistoryOpt, ResumeOpt
from gptplay.errors import UsageError
from gptplay.jsonout import json_line

CHAT = "Chat"


def chat(
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="NAME",
            help="A library dialogue scaffold (default: the model's own chat template, else "
            "'chat'), a .toml prompt file, or a .jinja chat template file.",
            rich_help_panel=CHAT,
        ),
    ] = None,
    system: Annotated[
        str | None,
        typer.Option(
            "--system",
            help="The system prompt (for a scaffold: replaces its preamble).",
            rich_help_panel=CHAT,
        ),
    ] = None,
    load_file: Annotated[
        Path | None,
        typer.Option(
            "--load", metavar="FILE", help="Continue a saved conversation.", rich_help_panel=CHAT
        ),
    ] = None,
    resume: ResumeOpt = None,
    show_prompt: Annotated[
        bool,
        typer.Option(
            "--show-prompt",
            help="Piped input: print the exact prompt first (stderr).",
            rich_help_panel=CHAT,
        ),
    ] = False,
    library: LibraryOpt = None,
    top: Annotated[
        int, typer.Option("--top", min=0, max=100, help="Alternatives computed per token.")
    ] = 5,
    no_probs: Annotated[bool, typer.Option("--no-probs", help="No probabilities.")] = False,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Piped input: JSON Lines (prompt, tokens, summary)."),
    ] = False,
    verbose: o.VerboseOpt = False,
    no_history: NoHistoryOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Chat with the model: replies stream, shaded by probability; /help lists the commands.

    A model with a chat template in its GGUF is chatted with through it; a base model
    through a dialogue scaffold from the prompt library. With standard input not a
    terminal, the whole input is one message: the reply is printed and the command exits.
    """
    from gptplay.chat import ChatSession, Conversation, choose_format
    from gptplay.chat.commands import format_layer

    interactive = sys.stdin.isatty()
    if json_out and interactive:
        raise UsageError(
            "--json answers one message read from standard input, which is a terminal here.",
            hint='pipe the message in: echo "Hello" | gptplay chat --json',
        )
    message = None
    if not interactive:
        from gptplay.textin import read_stdin

        message = read_stdin().strip()
        if not message:
            raise UsageError("standard input is empty: there is no message to answer.")
    conversation = Conversation.load(load_file)[0] if load_file else None
    if resume is not None:
        from gptplay.cli.history import resumed

        conversation, resume = resumed(resume, load_file)
    if conversation is not None and message is not None and conversation.awaiting_reply:
        raise UsageError(
            f"{load_file} ends with a user message that has no reply, so the piped message "
            "cannot follow it.",
            hint="answer it in the chat: gptplay chat --load FILE, then /retry.",
        )
    settings = flags.settings()  # the model settings, before the format is known
    engine = flags.load(settings, verbose=verbose)
    fmt = choose_format(engine, template, library)
    settings = flags.settings(format_layer(fmt))
    params = settings.sampling()
    session = ChatSession(
        engine,
        fmt,
        params,
        system=system,
        top=top,
        probs=not no_probs,
        conversation=conversation,
        settings=settings,
    )
    from gptplay import history

    recording = history.enabled(no_history)
    session.on_reply = history.chat_recorder("chat", on=recording)
    session.on_edit = history.chat_editor(on=recording)  # an /undo is what --resume sees
    session.conversation_id = resume  # a resumed chat's turns join its conversation
    if interactive:
        from gptplay.cli.chat_repl import Repl

        Repl(session, Console(highlight=False)).run()
    else:
        one_shot(session, message, json_out, show_prompt)


def one_shot(session, message: str, json_out: bool, show_prompt: bool) -> None:
    """Answer one piped message: the reply on stdout (or JSON Lines), the summary on stderr."""
    from gptplay import render
    from gptplay.chat.slash import dropped_note
    from gptplay.cli.output import EXIT_INTERRUPTED, event_json, summary_json

    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    reply = session.send(message)
    prompt = reply.prompt
    if json_out:
        record = {
            "type": "prompt",
            "template": session.format.name,
            "text": prompt.text,
            "prompt_tokens": len(prompt.ids),
            "n_ctx": session.engine.n_ctx,
            "dropped_messages": prompt.dropped,
        }
        print(json_line(record), flush=True)
    else:
        if show_prompt:
            err.print(prompt.text, style="dim", markup=False, soft_wrap=True)
        dropped = dropped_note(reply)
        if dropped is not None:
            err.print(dropped.text, style="yellow", markup=False, soft_wrap=True)
    from gptplay.chat.commands import strip_lead

    interrupted = False
    try:
        for event, text in strip_lead(reply):
            if json_out:
                print(json_line(event_json(event)), flush=True)
            else:
                style = render.prob_style(event.logprob) if session.probs else ""
                out.print(text, style=style, end="", soft_wrap=True, markup=False)
                out.file.flush()
    except KeyboardInterrupt:
        interrupted = True
    reply.finish(interrupted)
    completion = reply.completion
    if json_out:
        summary = summary_json(completion, session.resolved().as_dict())
        print(json_line(summary))
    else:
        out.print()
        err.print(render.summary_line(completion))
    if interrupted:
        err.print("[yellow]interrupted: stopped by Ctrl-C; the text above is kept.[/]")
        sys.exit(EXIT_INTERRUPTED)


def register(app: typer.Typer) -> None:
    app.command()(o.settings_flags(o.SAMPLING, o.MODEL)(chat))
