"""`gptplay tui`: the Textual playground (the model loads in the background)."""

from __future__ import annotations

import os
import sys
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
    no_history: NoHistoryOpt = False,
    *,
    flags: o.Flags,
) -> None:
    """Open the playground: compose prompts, watch tokens and their probabilities, branch."""
    from gptplay import history, signals

    app = tui_app(flags, prompt=prompt, library=library, top=top)
    app.history_on = history.enabled(no_history)
    # SIGINT/SIGTERM/SIGHUP quit the screen as Ctrl+Q does (the terminal restored), never
    # mid-draw; the exit status is then 128 + the signal (130, 143, 129).
    with signals.on_signal(lambda signum: app.exit(return_code=128 + signum), interrupt=True):
        app.run()
    if app.loading:
        exit_during_load(signals.exit_status(app.return_code or 0))


def exit_during_load(code: int) -> None:
    """Quit now, skipping interpreter shutdown, while the loader thread is inside llama.cpp.

    Shutdown frees modules and the ctypes log callback that llama.cpp calls while it loads,
    under a thread still running C code; the process could die by signal instead of exiting
    (issue 22: once 132, SIGILL). The screen is already restored and nothing is left to
    save: the history writes of a run happen before the app's workers are joined.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def tui_app(flags: o.Flags, *, prompt: str | None, library: str | None, top: int):
    """The playground with this command's layers of settings (shared with the tests)."""
    from gptplay.config import config_layer, load_config
    from gptplay.library import Library
    from gptplay.settings import SettingsStack, default_layer
    from gptplay.tui import create_app

    if prompt is not None:
        Library.default(library).find(prompt)  # a bad name fails here, before the screen
    layers = SettingsStack(
        defaults=default_layer({"threads": screen_threads()}, "the TUI: one core fewer"),
        config=config_layer(load_config()),
        flags=flags.layer(),
    )

    def engine_factory(settings):
        return flags.load(settings, notify=_quiet)

    return create_app(engine_factory, layers=layers, library=library, prompt=prompt, top=top)


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
    app.command()(o.settings_flags(o.SAMPLING, o.MODEL)(tui))
