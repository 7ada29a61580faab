"""The settings flags of the commands that load a model and sample from it.

Every flag here is derived from the settings table (gptplay.settings): ``settings_flags``
adds the flags of a group of settings to a command, each defaulting to None (not given),
and hands the command a ``Flags`` with the ones given. The command then resolves its
layers as plain data: default < config.toml < the prompt's [params] < these flags.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated

import typer

from gptplay.errors import UsageError
from gptplay.settings import SETTINGS, Layer, Resolved, Setting, resolve, stack
from gptplay.settings.check import unescape
from gptplay.settings.layers import DEFAULT
from gptplay.settings.schema import FLAG, MODEL, SAMPLING

if TYPE_CHECKING:
    from gptplay.config import Config
    from gptplay.engine.base import Engine

PANELS = {SAMPLING: "Sampling", MODEL: "Model"}
PREFIX = "setting_"  # the settings' parameter names, apart from the command's own (eval's choices)
ENGINE_LOADER = "gptplay.engine_loader"  # key in the click context's obj (tests inject here)

__all__ = ["ENGINE_LOADER", "Flags", "VerboseOpt", "load", "settings_flags", "unescape"]

VerboseOpt = Annotated[
    bool, typer.Option("--verbose", help="Show llama.cpp's own log.", rich_help_panel="Model")
]

JsonObjectOpt = Annotated[
    bool,
    typer.Option(
        "--json-object",
        help='The output is one JSON object (--json-schema \'{"type": "object"}\'); '
        "not --json, which prints the run as JSON Lines.",
        rich_help_panel="Sampling",
    ),
]

Notify = Callable[[str, bool], None]
EngineLoader = Callable[..., "Engine"]  # (settings: Resolved, *, verbose, notify) -> Engine


@dataclass(frozen=True)
class Flags:
    """The settings flags a command was given, and how the command loads its model."""

    given: Mapping[str, object] = field(default_factory=dict)
    loader: EngineLoader | None = None  # None: the real llama.cpp engine

    def layer(self) -> Layer | None:
        """The flags as the command line's layer (None when no settings flag was given)."""
        return Layer(FLAG, MappingProxyType(dict(self.given)), "command line") if self else None

    def __bool__(self) -> bool:
        return bool(self.given)

    def settings(
        self,
        prompt: Layer | None = None,
        *,
        defaults: Layer | None = None,
        config: Config | None = None,
    ) -> Resolved:
        """default < ``defaults`` (a front-end's own) < config.toml < ``prompt`` < flags."""
        from gptplay.config import config_layer, load_config

        config = config if config is not None else load_config()
        return resolve(stack(defaults, config_layer(config), prompt, self.layer()))

    def load(self, settings: Resolved, *, verbose: bool = False, notify: Notify | None = None):
        """The model the resolved settings name, through the injected loader if there is one.

        The output constraint is turned into its grammar first, so a schema the converter
        does not take fails before the model loads.
        """
        from gptplay.engine.grammars import output_grammar

        output_grammar(settings.sampling())
        return (self.loader or load)(settings, verbose=verbose, notify=notify)


def _option(s: Setting):
    """The Typer annotation of one setting's flag (the value None means not given)."""
    kind = list[str] if s.kind is tuple else s.kind
    parts = [s.note] if s.note and s.name != "threads" else []
    if s.default not in (None, ()) and s.kind is not str:
        parts.append(f"default {s.default}")
    if s.span():
        parts.append(f"range {s.span()}")
    help_text = f"{s.help} ({', '.join(parts)})" if parts else s.help
    return Annotated[
        kind | None,
        typer.Option(
            *s.flags,
            help=help_text,
            metavar="TEXT" if s.kind is tuple else None,
            rich_help_panel=PANELS[s.group],
            show_default=False,
        ),
    ]


def settings_flags(*groups: str, exclude: tuple[str, ...] = ()):
    """Give a command the flags of every setting in ``groups`` (SAMPLING, MODEL).

    The command declares a keyword parameter ``flags: Flags`` instead of one parameter per
    setting; a setting added to the table gets its flag in every command at once.
    """
    chosen = [
        s for s in SETTINGS if s.group in groups and FLAG in s.where and s.name not in exclude
    ]

    def decorate(func):
        signature = inspect.signature(func, eval_str=True)
        kept = [p for p in signature.parameters.values() if p.name != "flags"]
        added = [
            inspect.Parameter(PREFIX + s.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                              annotation=_option(s))
            for s in chosen
        ]  # fmt: skip
        if any(s.name == "json_schema" for s in chosen):
            added.append(
                inspect.Parameter(
                    PREFIX + "json_object",
                    inspect.Parameter.KEYWORD_ONLY,
                    default=False,
                    annotation=JsonObjectOpt,
                )
            )
        context = inspect.Parameter(
            "typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
        )

        @functools.wraps(func)
        def command(**kwargs):
            ctx = kwargs.pop("typer_context")
            given = {s.name: kwargs.pop(PREFIX + s.name) for s in chosen}
            given["json_object"] = kwargs.pop(PREFIX + "json_object", False)
            obj = ctx.obj if isinstance(ctx.obj, dict) else {}
            return func(**kwargs, flags=Flags(_given(given), obj.get(ENGINE_LOADER)))

        params = sorted([*kept, *added, context], key=lambda p: p.kind)
        command.__signature__ = signature.replace(parameters=params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        del command.__wrapped__  # Typer must read the new signature, not the function's
        return command

    return decorate


def _given(values: Mapping[str, object]) -> dict[str, object]:
    """The flags given (not None); --stop's \\n escapes read as newlines."""
    out = {k: v for k, v in values.items() if v is not None}
    if "stop" in out:
        out["stop"] = tuple(unescape(s) for s in out["stop"])  # type: ignore[union-attr]
    if "choices" in out and len(out["choices"]) == 1:  # type: ignore[arg-type]
        out["choices"] = tuple(c for c in out["choices"][0].split(","))  # type: ignore[index]
    if "grammar" in out:
        from gptplay.settings.gbnf import grammar_source

        out["grammar"] = grammar_source(str(out["grammar"]))
    if out.pop("json_object", False):
        from gptplay.settings.json_schema import ANY_OBJECT

        if "json_schema" in out:
            raise UsageError(
                "--json-object and --json-schema cannot be combined.",
                hint='--json-object is --json-schema \'{"type": "object"}\'.',
            )
        out["json_schema"] = ANY_OBJECT
    if "json_schema" in out:
        from gptplay.settings.json_schema import schema_source

        out["json_schema"] = schema_source(str(out["json_schema"]))
    return out


def load(settings: Resolved, *, verbose: bool = False, notify: Notify | None = None):
    """Resolve the model name and load it with the settings' ctx, threads and GPU layers."""
    from gptplay.cli.notices import print_notice, report_offload
    from gptplay.config import load_config
    from gptplay.context import fit_context
    from gptplay.engine import load_engine
    from gptplay.engine.offload import offload_of
    from gptplay.models import resolve_model

    resolved = resolve_model(str(settings["model"]), load_config())
    if resolved.remote is not None:
        from gptplay.engine.remote import connect_model

        # a server reports its own context size; --ctx (or config) only stands in for one
        # that does not
        given = settings.origins.get("ctx", DEFAULT) != DEFAULT
        ctx = int(settings["ctx"]) if given else None  # type: ignore[arg-type]
        return connect_model(resolved, ctx, notify or print_notice)
    gpu_layers = int(settings["gpu_layers"])  # type: ignore[arg-type]
    n_ctx = int(settings["ctx"])  # type: ignore[arg-type]
    from_config = "config" in settings.origins.get("ctx", "")
    asked = f"ctx = {n_ctx} in config.toml" if from_config else f"--ctx {n_ctx}"
    n_ctx, notice = fit_context(n_ctx, resolved.path, resolved.name, asked)
    if notice is not None:
        (notify or print_notice)(notice, False)
    engine = load_engine(
        resolved.path,
        n_ctx=n_ctx,
        n_threads=settings["threads"],
        n_gpu_layers=gpu_layers,
        verbose=verbose,
        model_name=resolved.name,
    )
    offload = offload_of(engine) if gpu_layers else None
    if offload is not None:
        origin = settings.origins.get("gpu_layers", "")
        asked = f"gpu_layers = {gpu_layers} in config.toml" if origin.startswith("config") else None
        report_offload(offload, notify or print_notice, asked=asked)
    return engine
