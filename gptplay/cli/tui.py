"""`gptplay tui`: the Textual playground (the model loads in the background)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Annotated

import typer

from gptplay.cli import options as o
from gptplay.cli.fewshot import LibraryOpt
from gptplay.cli.history import NoHistoryOpt


def tui(
    prompt: Annotated[
        str | None, typer.Argument(help="A library prompt to open (default: translate).")
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=1, max=50, help="Alternatives computed per token.")
    ] = 10,
    library: LibraryOpt = None,
    model: o.ModelOpt = None,
    ctx: o.CtxOpt = 4096,
    threads: o.ThreadsOpt = None,
    gpu_layers: o.GpuLayersOpt = 0,
    no_history: NoHistoryOpt = False,
) -> None:
    """Open the playground: compose prompts, watch tokens and their probabilities, branch."""
    from gptplay.cli.defaults import current_context
    from gptplay.library import Library
    from gptplay.tui import create_app

    if prompt is not None:
        Library.default(library).find(prompt)  # a bad name fails here, before the screen
    command = current_context()

    def engine_factory(name: str | None):
        chosen = name if name is not None else model
        # The model loads in a worker thread: give it this command's context, so flags
        # given on the command line still win over config.toml there.
        with command or nullcontext():
            opts = o.ModelOptions(chosen, ctx, threads, gpu_layers, False)
            return o.load(opts, notify=_quiet, default_threads=screen_threads())

    from gptplay import history

    on = history.enabled(no_history)
    create_app(
        engine_factory, model=model, library=library, prompt=prompt, top=top, history=on
    ).run()


def screen_threads() -> int:
    """llama.cpp threads for the TUI when neither --threads nor config.toml says: one core fewer.

    llama.cpp's threads wait for each other at every step, so a screen drawing on one of
    their cores slows all of them: on 2 cores, 1 thread gave 29.6 tok/s in the TUI against
    25.5 with 2 (bench/tui.py).
    """
    return max(1, (os.cpu_count() or 1) - 1)


def _quiet(message: str, warning: bool) -> None:
    """Offload notices would scribble over the screen; the TUI shows model errors itself."""


def register(app: typer.Typer) -> None:
    app.command()(tui)
