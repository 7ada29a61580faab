"""`gptplay models list | pull | info`: the models here, fetching one, and what a GGUF holds."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gptplay.cli.help import App
from gptplay.errors import ModelError, UsageError

models_app = App(
    help="List, pull and inspect GGUF models.", no_args_is_help=True, add_completion=False
)


def _console():
    from rich.console import Console

    return Console(highlight=False)


@models_app.command("list")
def list_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON record per model.")] = False,
) -> None:
    """The embedded default, GGUFs in the Hugging Face cache and in config's model_dirs."""
    from rich.markup import escape
    from rich.table import Table

    from gptplay.cli.gguf_view import size_text
    from gptplay.config import load_config
    from gptplay.hub import hub_cache_dir
    from gptplay.models import list_models

    config = load_config()
    entries = list_models(config)
    if json_out:
        for e in entries:
            record = {**e.__dict__, "path": str(e.path)}
            print(json.dumps(record, ensure_ascii=False))
        return
    table = Table(box=None, padding=(0, 2))
    for col in ("model", "source", "size", "architecture", "quantization"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for e in entries:
        arch = e.architecture or f"[red]{escape(e.problem or '?')}[/]"
        table.add_row(escape(e.name), e.source, size_text(e.size), arch, e.quantization or "")
    console = _console()
    console.print(table)
    if config.aliases:
        aliases = ", ".join(f"{k} → {v}" for k, v in sorted(config.aliases.items()))
        console.print(f"[dim]aliases: {escape(aliases)}[/]", soft_wrap=True)
    console.print(f"[dim]Hugging Face cache: {escape(str(hub_cache_dir()))}[/]", soft_wrap=True)


@models_app.command("pull")
def pull(
    repo: Annotated[str, typer.Argument(help="OWNER/REPO on the Hugging Face Hub.")],
    file: Annotated[
        str | None,
        typer.Option("--file", help="A file name or glob pattern in the repo (*.Q4_K_M.gguf)."),
    ] = None,
    quant: Annotated[
        str | None, typer.Option("--quant", help="A quantization named in the file (Q4_K_M).")
    ] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Also save an alias for it in config.toml.")
    ] = None,
) -> None:
    """Download a GGUF (resuming a partial download); lists the choices when a repo has several."""
    from gptplay.hub import download, hub_offline, parse_hub_name

    if file and quant:
        raise UsageError("Give --file or --quant, not both.")
    name = parse_hub_name(repo)
    if name is None:
        raise UsageError(f"{repo!r} is not OWNER/REPO.", hint="e.g. unsloth/gemma-3-270m-it-GGUF")
    selector = file or quant or name.selector
    if hub_offline():
        raise ModelError(
            f"Cannot pull {repo}: HF_HUB_OFFLINE is set, so the Hub cannot be reached.",
            hint="unset HF_HUB_OFFLINE to download.",
        )
    path = download(name, selector)
    from gptplay.cli.gguf_view import size_text
    from gptplay.hub import HubName, quant_label

    label = selector or quant_label(path.name) or path.name
    full = str(HubName(name.repo, label))
    console = _console()
    console.print(
        f"{full}: {path} ({size_text(path.stat().st_size)})", markup=False, soft_wrap=True
    )
    if alias:
        from gptplay.config import config_path, write_value

        write_value(f"aliases.{alias}", full)
        console.print(
            f"alias {alias} → {full} saved in {config_path()}", markup=False, soft_wrap=True
        )


@models_app.command("info")
def info(
    model: Annotated[
        str | None,
        typer.Argument(help="A .gguf path, 'default', an alias or OWNER/REPO[:QUANT]."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON record.")] = False,
    template: Annotated[
        bool, typer.Option("--template", help="Print the chat template and nothing else.")
    ] = False,
) -> None:
    """What a GGUF holds, read from its header without loading the weights."""
    from gptplay.cli.gguf_view import info_record, print_info
    from gptplay.gguf_info import read_gguf
    from gptplay.models import resolve_model

    resolved = resolve_model(model)
    gguf = read_gguf(resolved.path)
    if template:
        if gguf.chat_template is None:
            raise ModelError(
                f"{resolved.name} has no chat template in its metadata.",
                hint="it is probably a base model: prompt it with plain text or a dialogue "
                "scaffold.",
            )
        print(gguf.chat_template)
        return
    if json_out:
        print(json.dumps(info_record(gguf, resolved.name), ensure_ascii=False))
        return
    print_info(gguf, resolved.name, _console())


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
