"""`gptplay library`: list, show, locate, validate, create and edit prompt files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from gptplay.cli.fewshot import LibraryOpt
from gptplay.cli.help import App
from gptplay.errors import GptplayError
from gptplay.jsonout import json_line

library_app = App(
    name="library",
    help="The prompt library: built-in prompts and your own TOML files.",
    no_args_is_help=True,
)

SKELETON_DOC = ("docs/library.md", "The prompt file")  # the section the skeleton points to
SKELETON = """# A prompt for gptplay. Every key is described in gptplay's {doc}, "{section}".
title = "{title}"
description = "What this prompt is for."
kind = "completion"
instruction = "Write the opposite of each word."
# Each [[examples]] entry below fills this template to make one demonstration;
# the query is this template cut just before {{opposite}}, where the answer goes.
template = "{{word}} -> {{opposite}}"
answer = "opposite"
separator = "\\n"
stop = ["\\n"]

[params]
temperature = 0
max_tokens = 16

[[examples]]
word = "hot"
opposite = "cold"

[[examples]]
word = "up"
opposite = "down"
"""


def _consoles() -> tuple[Console, Console]:
    return Console(highlight=False), Console(stderr=True, highlight=False)


@library_app.command("list")
def list_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
    library: LibraryOpt = None,
) -> None:
    """List every prompt, saying which are yours and which are built in."""
    from rich.table import Table

    from gptplay.library import Library, PromptError, load_file

    rows = []
    for entry in Library.default(library).entries():
        try:
            spec = load_file(entry.path)
            info = {"title": spec.title, "kind": spec.kind, "examples": len(spec.examples)}
        except PromptError as exc:
            info = {"title": None, "kind": None, "examples": None, "error": exc.message}
        origin = entry.origin + (" (shadows built-in)" if entry.shadows_builtin else "")
        rows.append({"name": entry.name, "origin": origin, "path": str(entry.path), **info})
    out, _ = _consoles()
    if json_out:
        print(json_line(rows, indent=1))
        return
    table = Table(box=None, pad_edge=False)
    for col in ("name", "origin", "kind", "examples", "title"):
        table.add_column(col)
    for r in rows:
        title = (
            Text(r["title"])
            if r["title"] is not None
            else Text(f"invalid: {r['error']}", style="red")
        )
        # names, kinds and titles come from files: text, never markup
        cells = (r["name"], r["origin"], r["kind"] or "", str(r["examples"] or ""))
        table.add_row(*map(Text, cells), title)
    out.print(table)


@library_app.command()
def show(
    name: Annotated[str, typer.Argument(help="A prompt name or .toml file.")],
    shots: Annotated[
        int | None, typer.Option("--shots", "-k", min=0, help="Demonstrations (default: all).")
    ] = None,
    library: LibraryOpt = None,
) -> None:
    """Show a prompt's TOML, highlighted, and the prompt text it renders."""
    from rich.rule import Rule
    from rich.syntax import Syntax

    from gptplay.library import Library, compose

    spec = Library.default(library).load(name)
    out, _ = _consoles()
    origin = "built-in" if spec.builtin else "user"
    out.print(Rule(Text(f"{spec.name} · {origin} · {spec.source}")))
    out.print(Syntax(spec.source.read_text(encoding="utf-8"), "toml", word_wrap=True))
    k = len(spec.examples) if shots is None else shots
    placeholders = {f: "{" + f + "}" for f in spec.query_fields}
    composed = compose(spec, k, placeholders)
    out.print(Rule(f"rendered, {k} demonstration(s); the model writes after the last line"))
    out.print(composed.text, markup=False, soft_wrap=True)


@library_app.command()
def path(
    name: Annotated[
        str | None, typer.Argument(help="A prompt name (none: the folder your prompts go to).")
    ] = None,
    library: LibraryOpt = None,
) -> None:
    """Print the file a prompt name resolves to, or the folder new prompts are saved in."""
    from gptplay.library import Library

    lib = Library.default(library)
    print(lib.save_dir if name is None else lib.find(name).path)


@library_app.command()
def validate(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Files or names (default: every prompt in the library)."),
    ] = None,
    library: LibraryOpt = None,
) -> None:
    """Check prompt files; every problem is printed as file:line:col: message."""
    from gptplay.library import Library, validate_file

    lib = Library.default(library)
    if paths:
        files = [Path(p) if p.endswith(".toml") or "/" in p else lib.find(p).path for p in paths]
    else:
        files = [e.path for e in lib.entries()]
    out, err = _consoles()
    problems = 0
    for file in files:
        errors = validate_file(file) if file.is_file() else None
        if errors is None:
            err.print(f"{file}: no such file", markup=False)
            problems += 1
            continue
        for e in errors:
            err.print(e.message + (f"  ({e.hint})" if e.hint else ""), markup=False)
        problems += len(errors)
    summary = f"{len(files)} file(s), {problems} problem(s)"
    if problems:
        err.print(f"[red]{summary}[/]")
        raise typer.Exit(1)
    out.print(f"[green]ok[/] {summary}")


@library_app.command()
def new(
    name: Annotated[str, typer.Argument(help="The new prompt's name.")],
    from_: Annotated[
        str | None, typer.Option("--from", help="Start from a copy of this prompt.")
    ] = None,
    library: LibraryOpt = None,
) -> None:
    """Create a prompt in your library (a small skeleton, or a copy of another)."""
    from gptplay.fileio import FileExists
    from gptplay.library import Library, atomic_write, check_name

    lib = Library.default(library)
    target = lib.user_path(check_name(name))
    if target.exists():
        raise GptplayError(f"{target} already exists.", hint=f"gptplay library edit {name}")
    if from_:
        text = lib.find(from_).path.read_text(encoding="utf-8")
    else:
        doc, section = SKELETON_DOC
        text = SKELETON.format(title=name, doc=doc, section=section)
    try:
        atomic_write(target, text, exclusive=True)  # two `new` at once: one is refused
    except FileExists as exc:
        raise GptplayError(exc.message, hint=f"gptplay library edit {name}") from None
    _, err = _consoles()
    err.print(f"[green]created[/] {escape(str(target))}", soft_wrap=True)
    err.print(f"[dim]edit it with: gptplay library edit {escape(name)}[/]")


@library_app.command()
def edit(
    name: Annotated[str, typer.Argument(help="A prompt name (a built-in gets your own copy).")],
    library: LibraryOpt = None,
) -> None:
    """Open $VISUAL or $EDITOR on a copy; a valid result replaces the file atomically."""
    from gptplay.cli.editor import edit_prompt
    from gptplay.library import Library

    edit_prompt(Library.default(library), name)


def register(app: typer.Typer) -> None:
    app.add_typer(library_app)
