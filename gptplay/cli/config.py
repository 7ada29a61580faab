"""`gptplay config show | path | edit | set`: the user's config.toml."""

from __future__ import annotations

from typing import Annotated

import typer

from gptplay.cli import options as o
from gptplay.cli.fewshot import LibraryOpt
from gptplay.cli.help import App
from gptplay.errors import GptplayError, UsageError, did_you_mean
from gptplay.jsonout import json_line

config_app = App(
    help="Show and edit config.toml (default model, aliases, threads, GPU layers, sampling).",
    no_args_is_help=True,
    add_completion=False,
)


def effective(
    task: str | None = None, library: str | None = None, flags: o.Flags | None = None
) -> tuple[list[tuple[str, object, str]], object]:
    """(setting, value, where it comes from) for every setting, and the Config.

    The layers are the ones a run resolves: default < config.toml < TASK's [params] <
    the flags given to `config show`.
    """
    from gptplay.config import load_config

    config = load_config()
    prompt = None
    if task is not None:
        from gptplay.library import load_prompt

        prompt = load_prompt(task, library).settings_layer()
    settings = (flags or o.Flags()).settings(prompt, config=config)
    return [(_key(name), v, src) for name, v, src in settings.rows()], config


def _key(name: str) -> str:
    """A setting's key as config.toml and `config set` write it: sampling.top_k, ctx."""
    from gptplay.settings import BY_NAME
    from gptplay.settings.schema import SAMPLING

    return f"sampling.{name}" if BY_NAME[name].group == SAMPLING else name


def show(
    task: Annotated[
        str | None,
        typer.Argument(help="With --effective: also a prompt's \\[params] (a name or a .toml)."),
    ] = None,
    effective_: Annotated[
        bool,
        typer.Option(
            "--effective",
            help="Every setting a run would use and where it comes from: default, config "
            "file and line, the prompt file, or a flag given here.",
        ),
    ] = False,
    library: LibraryOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    *,
    flags: o.Flags,
) -> None:
    """The settings in effect and where each comes from (config.toml or the default)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from gptplay.config import alias_text, config_path

    if not effective_ and (task is not None or flags):
        raise UsageError(
            "a prompt or settings flags only change what `config show --effective` shows.",
            hint="add --effective, like: gptplay config show --effective translate -t 0",
        )
    rows, config = effective(task, library, flags)
    path = config_path()
    if not effective_:
        rows = [(key, value, _short(src)) for key, value, src in rows]
    if json_out:
        record = {
            "path": str(path),
            "exists": path.exists(),
            "settings": {k: {"value": v, "from": src} for k, v, src in rows},
            "aliases": config.aliases,
            "model_dirs": [str(d) for d in config.model_dirs],
        }
        print(json_line(record))
        return
    console = Console(highlight=False)
    if effective_:  # like `git config --show-origin`: where, then key=value
        width = max(len(src) for _, _, src in rows)
        for key, value, src in rows:
            print(f"{src:<{width}}  {key}={_literal(key, value)}")
        return
    state = "" if path.exists() else " (not created yet: `gptplay config edit` starts one)"
    console.print(f"[bold]{escape(str(path))}[/]{escape(state)}", soft_wrap=True)
    table = Table(box=None, padding=(0, 2))
    for col in ("setting", "value", "from"):
        table.add_column(col)
    for key, value, src in rows:
        table.add_row(key, escape(_shown(key, value)), src if src == "config" else f"[dim]{src}[/]")
    console.print(table)
    for name, target in sorted(config.aliases.items()):
        console.print(f"alias {escape(name)} → {escape(alias_text(target))}", soft_wrap=True)
    for folder in config.model_dirs:
        console.print(f"model folder {escape(str(folder))}", soft_wrap=True)


def _short(origin: str) -> str:
    """'config /path:3' as 'config' (the plain `config show`); 'default' stays 'default'."""
    return "config" if origin.startswith("config") else "default"


def _literal(key: str, value: object) -> str:
    """The value as config.toml would write it; None as what it means, in parentheses."""
    if value is None:
        return f"({_shown(key, value)})"
    return json_line(list(value) if isinstance(value, tuple) else value)


def _shown(key: str, value: object) -> str:
    if value is None:
        return "all cores" if key == "threads" else "a fresh one each run"
    return repr(value) if isinstance(value, (str, tuple)) else str(value)


config_app.command("show")(o.settings_flags(o.SAMPLING, o.MODEL)(show))


@config_app.command("path")
def path_cmd() -> None:
    """Print where config.toml lives (it may not exist yet)."""
    from gptplay.config import config_path

    print(config_path())


@config_app.command("edit")
def edit() -> None:
    """Open config.toml in $EDITOR; it is saved only once it validates."""
    from rich.console import Console
    from rich.markup import escape

    from gptplay.config import TEMPLATE, atomic_write, config_path, parse_config

    path = config_path()
    text = path.read_text(encoding="utf-8") if path.exists() else TEMPLATE
    err = Console(stderr=True, highlight=False)
    while True:
        edited = run_editor(text)
        if edited == text and path.exists():
            err.print("config.toml unchanged.")
            return
        try:
            parse_config(edited, path)
        except GptplayError as exc:
            from gptplay.render import error_text

            err.print(error_text(exc), soft_wrap=True)
            if not typer.confirm("Edit again? (no: discard the changes)", default=True):
                raise typer.Exit(1) from None
            text = edited
            continue
        atomic_write(path, edited)
        err.print(f"saved {escape(str(path))}", soft_wrap=True)
        return


def run_editor(text: str) -> str:
    """Let $VISUAL or $EDITOR edit ``text`` in a temporary .toml file; return what it saved."""
    from gptplay.cli.editor import run_editor as run_on_file
    from gptplay.fileio import editor_copy

    with editor_copy("config", text) as tmp:
        run_on_file(tmp)
        return tmp.read_text(encoding="utf-8")


@config_app.command("set", context_settings={"ignore_unknown_options": True})
def set_cmd(
    key: Annotated[str, typer.Argument(help="e.g. gpu_layers, sampling.temperature, aliases.NAME")],
    value: Annotated[str, typer.Argument(help="A TOML value (0.7, -1, '[\"\\n\\n\"]') or text.")],
) -> None:
    """Set one value in config.toml, keeping its comments and layout."""
    from gptplay.config import SAMPLING, TOP, config_path, write_value

    table, _, name = key.rpartition(".")
    known = (not table and name in TOP) or (table == "sampling" and name in SAMPLING)
    if not (known or (table == "aliases" and name)):
        keys = [*TOP, *(f"sampling.{k}" for k in SAMPLING)]
        raise UsageError(
            f"Unknown setting {key!r}.",
            hint=_close(table, name, key) or "settings: " + ", ".join(keys) + ", aliases.NAME",
        )
    write_value(key, _toml_value(value))
    print(f"{key} set in {config_path()}")


def _close(table: str, name: str, key: str) -> str | None:
    """The did-you-mean of a mistyped key, matched within its table (sampling.NAME)."""
    from gptplay.config import SAMPLING, TOP

    if table == "sampling":
        return did_you_mean(name, SAMPLING, prefix="sampling.")
    return did_you_mean(key, [*TOP, *(f"sampling.{k}" for k in SAMPLING)])


def _toml_value(text: str) -> object:
    """A TOML literal (number, boolean, list, quoted string), else the text as a string."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(f"v = {text}")["v"]
    except ParseError:
        return text


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
