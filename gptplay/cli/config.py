"""`gptplay config show | path | edit | set`: the user's config.toml."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gptplay.errors import GptplayError, UsageError

config_app = typer.Typer(
    help="Show and edit config.toml (default model, aliases, threads, GPU layers, sampling).",
    no_args_is_help=True,
    add_completion=False,
)

BUILTIN = {"model": "default", "ctx": 4096, "threads": None, "gpu_layers": 0}


def effective() -> tuple[list[tuple[str, object, str]], object]:
    """(setting, value, where it comes from) for every setting, and the Config."""
    from gptplay.config import load_config
    from gptplay.engine.types import SamplingParams

    config = load_config()
    rows = []
    for key, builtin in BUILTIN.items():
        value = getattr(config, key)
        rows.append(
            (key, builtin if value is None else value, "built-in" if value is None else "config")
        )
    defaults = SamplingParams()
    for key in (
        "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "presence_penalty",
        "frequency_penalty", "max_tokens", "stop", "seed",
    ):  # fmt: skip
        if key in config.sampling:
            rows.append((f"sampling.{key}", config.sampling[key], "config"))
        else:
            rows.append((f"sampling.{key}", getattr(defaults, key), "built-in"))
    return rows, config


@config_app.command("show")
def show(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """The settings in effect and where each comes from (config.toml or built-in)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from gptplay.config import config_path

    rows, config = effective()
    path = config_path()
    if json_out:
        record = {
            "path": str(path),
            "exists": path.exists(),
            "settings": {k: {"value": v, "from": src} for k, v, src in rows},
            "aliases": config.aliases,
            "model_dirs": [str(d) for d in config.model_dirs],
        }
        print(json.dumps(record, ensure_ascii=False, default=list))
        return
    console = Console(highlight=False)
    state = "" if path.exists() else " (not created yet: `gptplay config edit` starts one)"
    console.print(f"[bold]{escape(str(path))}[/]{escape(state)}", soft_wrap=True)
    table = Table(box=None, padding=(0, 2))
    for col in ("setting", "value", "from"):
        table.add_column(col)
    for key, value, src in rows:
        if value is None:
            shown = "all cores" if key == "threads" else "a fresh one each run"
        else:
            shown = repr(value) if isinstance(value, (str, tuple)) else str(value)
        table.add_row(key, escape(shown), src if src == "config" else f"[dim]{src}[/]")
    console.print(table)
    for name, target in sorted(config.aliases.items()):
        console.print(f"alias {escape(name)} → {escape(target)}", soft_wrap=True)
    for folder in config.model_dirs:
        console.print(f"model folder {escape(str(folder))}", soft_wrap=True)


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
    import os
    import tempfile
    from pathlib import Path

    from gptplay.cli.editor import run_editor as run_on_file

    fd, name = tempfile.mkstemp(prefix="gptplay-config-", suffix=".toml")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        run_on_file(tmp)
        return tmp.read_text(encoding="utf-8")
    finally:
        tmp.unlink(missing_ok=True)


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
        raise UsageError(
            f"Unknown setting {key!r}.",
            hint="settings: "
            + ", ".join([*TOP, *(f"sampling.{k}" for k in SAMPLING)])
            + ", aliases.NAME",
        )
    write_value(key, _toml_value(value))
    print(f"{key} set in {config_path()}")


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
