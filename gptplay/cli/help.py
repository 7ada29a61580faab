"""How gptplay's --help reads: `TASK [INPUT]` in usage lines, no `<bool>` on boolean flags.

Typer writes a required argument as `{task}` and an optional one whose metavar is
`[INPUT]` as `[[INPUT]]`, and gives every flag a `<bool>` type; the conventional form is
clearer. Typer also keeps a docstring's source line breaks, which Rich then wraps again
(a sentence broken mid-line): each paragraph is joined into one line first. Every command
group is an ``App``, whose commands are ``Command``s.
"""

from __future__ import annotations

import inspect

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class Command(TyperCommand):
    """A Typer command whose help follows the usual conventions."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflow(self.help)
        for param in self.params:
            _tidy(param)

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            _tidy(option)
        return option

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = (param.metavar or param.name or "").replace("...", "").strip("[]").upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces


def reflow(text: str | None) -> str | None:
    """Each paragraph of a help text on one line, for Rich to wrap to the terminal.

    A paragraph that starts with click's ``\\b`` marker keeps its line breaks.
    """
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines())
        for p in paragraphs
    )


def _tidy(param) -> None:
    """A flag shows no type; an argument is named in capitals, without brackets or dots."""
    if isinstance(param, TyperOption) and param.is_flag:
        param.metavar = ""
    elif isinstance(param, TyperArgument):
        name = (param.metavar or param.name or "").replace("...", "")
        param.metavar = name.strip("[]").upper()


class Group(TyperGroup):
    """A command group whose own flags (--help, --version) show no type either."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            _tidy(param)

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            _tidy(option)
        return option


class App(typer.Typer):
    """A command group whose commands are ``Command``s unless they say otherwise."""

    def __init__(self, *args, cls=None, **kwargs) -> None:
        super().__init__(*args, cls=cls or Group, **kwargs)

    def command(self, *args, cls=None, **kwargs):
        return super().command(*args, cls=cls or Command, **kwargs)
