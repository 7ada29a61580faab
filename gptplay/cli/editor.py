"""Editing a prompt in the user's editor: a copy is edited, validated, then swapped in."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from gptplay.errors import GptplayError
from gptplay.fileio import editor_copy
from gptplay.library import Library, atomic_write, check, check_name


def editor_command() -> list[str]:
    """$VISUAL, else $EDITOR, else vi, split like a shell would."""
    raw = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    return shlex.split(raw)


def run_editor(path: Path) -> None:
    """Run the editor on path and wait for it."""
    cmd = editor_command()
    try:
        proc = subprocess.run([*cmd, str(path)])
    except OSError as exc:
        raise GptplayError(
            f"cannot run the editor {cmd[0]!r}: {exc.strerror}.",
            hint="set $VISUAL or $EDITOR to your editor, like EDITOR=nano",
        ) from None
    if proc.returncode != 0:
        raise GptplayError(f"the editor exited with status {proc.returncode}; nothing changed.")


def edit_prompt(lib: Library, name: str) -> None:
    """Edit NAME's user copy (created from the built-in); the original stays until valid."""
    err = Console(stderr=True, highlight=False)
    target = lib.user_path(check_name(name))
    if target.exists():
        original = target.read_text(encoding="utf-8")
    else:
        source = lib.find(name).path  # a built-in, or a prompt in another library dir
        original = source.read_text(encoding="utf-8")
        err.print(f"[dim]editing your own copy of {escape(str(source))}[/]", soft_wrap=True)
    with editor_copy(name, original) as tmp:
        while True:
            run_editor(tmp)
            try:
                text = tmp.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                text, errors = None, ["the file is not UTF-8 text"]
            else:
                errors = [
                    e.message.replace(str(tmp), str(target)) for e in check(text, str(tmp), name)[1]
                ]
            if not errors:
                break
            for e in errors:
                err.print(e, markup=False, soft_wrap=True)
            try:
                again = typer.confirm(
                    "The prompt is not valid. Edit it again?", default=True, err=True
                )
            except typer.Abort:
                again = False
            if not again:
                raise GptplayError(f"not saved; {target} is unchanged.")
        if text == original:  # a built-in left as it is gets no copy to shadow it
            what = "is unchanged" if target.exists() else "was not created"
            err.print(f"[dim]no changes; {target} {what}[/]", soft_wrap=True)
            return
        atomic_write(target, text)
        err.print(f"[green]saved[/] {escape(str(target))}", soft_wrap=True)
