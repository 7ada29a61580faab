"""`gptplay tui`: the Textual playground (the model loads in the background)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Annotated

import typer

from gptplay.cli import options as o
from gptplay.cli.fewshot import LibraryOpt


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
            return o.load(o.ModelOptions(chosen, ctx, threads, gpu_layers, False), notify=_quiet)

    create_app(engine_factory, model=model, library=library, prompt=prompt, top=top).run()


def _quiet(message: str, warning: bool) -> None:
    """Offload notices would scribble over the screen; the TUI shows model errors itself."""


def register(app: typer.Typer) -> None:
    app.command()(tui)
