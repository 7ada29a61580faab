"""The gptplay command line. Each command group lives in its own module."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gptplay.cli.help import App
from gptplay.errors import GptplayError

app = App(
    name="gptplay",
    help="A terminal playground for prompting language models: zero/one/few-shot prompts, "
    "chat, and every token's probability.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


# Each module defines register(app); they import nothing heavy at module level, so
# `gptplay --help` stays instant.
COMMAND_MODULES = (
    "complete",
    "fewshot",
    "compare",
    "eval",
    "chat",
    "tui",
    "library",
    "models",
    "config",
    "history",
)


def _register() -> None:
    from importlib import import_module

    for name in COMMAND_MODULES:
        import_module(f"gptplay.cli.{name}").register(app)


_register()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from gptplay import __version__

        try:  # read from pip's record, not imported: --version stays instant
            llama = f"llama-cpp-python {version('llama-cpp-python')}"
        except PackageNotFoundError:
            llama = "llama-cpp-python not installed"
        print(f"gptplay {__version__} ({llama}; Python {sys.version.split()[0]})")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """A terminal playground for prompting language models: zero/one/few-shot prompts, chat,
    and every token's probability."""


def main() -> None:
    """Console entry point: domain errors become one readable line and a non-zero exit.

    SIGTERM and SIGHUP stop a command as Ctrl-C does (gptplay.signals); the exit status is
    then 128 + the signal. Once the command is over, further interrupts are ignored, so a
    second Ctrl-C while the model is freed cannot kill the process by signal.
    """
    from gptplay import signals

    signals.install()
    try:
        _run()
    except SystemExit as exc:
        code = exc.code
        if signals.received() is not None:
            code = signals.exit_status(130)
        signals.ignore_interrupts()
        sys.exit(code)
    signals.ignore_interrupts()


def _run() -> None:
    try:
        app()
    except GptplayError as exc:
        from rich.console import Console

        from gptplay.render import error_text

        Console(stderr=True, highlight=False).print(error_text(exc), soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
