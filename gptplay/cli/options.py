"""Options shared by the commands that load a model and sample from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

import typer

from gptplay.cli.defaults import pick, print_notice, report_offload
from gptplay.engine.stops import unescape
from gptplay.engine.types import SamplingParams

SAMPLING = "Sampling"
MODEL = "Model"

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="A .gguf path, 'default' (embedded Gemma 3 270M), an alias from config.toml, "
        "or OWNER/REPO[:QUANT] on the Hugging Face Hub.",
        rich_help_panel=MODEL,
    ),
]
CtxOpt = Annotated[
    int, typer.Option("--ctx", help="Context size in tokens.", min=16, rich_help_panel=MODEL)
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads", help="CPU threads (default: all cores).", min=1, rich_help_panel=MODEL
    ),
]
GpuLayersOpt = Annotated[
    int,
    typer.Option(
        "--gpu-layers", help="Layers to offload to a GPU (-1: all).", min=-1, rich_help_panel=MODEL
    ),
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", help="Show llama.cpp's own log.", rich_help_panel=MODEL)
]

TemperatureOpt = Annotated[
    float, typer.Option("--temperature", "-t", help="0 is greedy.", rich_help_panel=SAMPLING)
]
TopKOpt = Annotated[int, typer.Option("--top-k", help="0 turns it off.", rich_help_panel=SAMPLING)]
TopPOpt = Annotated[float, typer.Option("--top-p", rich_help_panel=SAMPLING)]
MinPOpt = Annotated[float, typer.Option("--min-p", rich_help_panel=SAMPLING)]
RepeatOpt = Annotated[
    float, typer.Option("--repeat-penalty", help="1 turns it off.", rich_help_panel=SAMPLING)
]
PresenceOpt = Annotated[float, typer.Option("--presence-penalty", rich_help_panel=SAMPLING)]
FrequencyOpt = Annotated[float, typer.Option("--frequency-penalty", rich_help_panel=SAMPLING)]
MaxTokensOpt = Annotated[int, typer.Option("--max-tokens", "-n", rich_help_panel=SAMPLING)]
StopOpt = Annotated[
    list[str] | None,
    typer.Option("--stop", help="Stop sequence (repeatable).", rich_help_panel=SAMPLING),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        help="Random seed (default: a fresh one, reported so the run can be repeated).",
        rich_help_panel=SAMPLING,
    ),
]


@dataclass(frozen=True)
class ModelOptions:
    """How to find and load the model."""

    model: str | None = None
    n_ctx: int = 4096
    threads: int | None = None
    gpu_layers: int = 0
    verbose: bool = False


def sampling(
    temperature: float,
    top_k: int,
    top_p: float,
    min_p: float,
    repeat_penalty: float,
    presence_penalty: float,
    frequency_penalty: float,
    max_tokens: int,
    stop: list[str] | None,
    seed: int | None,
) -> SamplingParams:
    """Build and validate SamplingParams: flags, then config.toml's [sampling], then defaults."""
    given = dict(locals())  # first: the parameters only
    from gptplay.config import load_config

    configured = load_config().sampling
    builtin = SamplingParams()
    values = {
        key: pick(f"--{key.replace('_', '-')}", value, getattr(builtin, key), configured.get(key))
        for key, value in given.items()
    }
    params = SamplingParams(
        **{**values, "stop": tuple(unescape(s) for s in values["stop"] or ())},
    )
    params.validate()
    return params


def sampling_from(
    values: Mapping[str, object], stop: list[str] | None, seed: int | None
) -> SamplingParams:
    """``sampling`` from a merged mapping (built-in, then a prompt's [params], then flags)."""
    return sampling(
        float(values["temperature"]),
        int(values["top_k"]),
        float(values["top_p"]),
        float(values["min_p"]),
        float(values["repeat_penalty"]),
        float(values["presence_penalty"]),
        float(values["frequency_penalty"]),
        int(values["max_tokens"]),
        stop,
        seed,
    )


def load(
    opts: ModelOptions,
    notify: Callable[[str, bool], None] | None = None,
    default_threads: int | None = None,
):
    """Resolve and load the model: flags, then config.toml, then defaults (llama_cpp lazily)."""
    from gptplay.config import load_config
    from gptplay.context import fit_context
    from gptplay.engine import load_engine
    from gptplay.engine.offload import offload_of
    from gptplay.models import resolve_model

    config = load_config()
    resolved = resolve_model(opts.model, config)
    gpu_layers = pick("--gpu-layers", opts.gpu_layers, 0, config.gpu_layers)
    n_ctx = pick("--ctx", opts.n_ctx, 4096, config.ctx)
    asked = f"--ctx {n_ctx}" if n_ctx == opts.n_ctx else f"ctx = {n_ctx} in config.toml"
    n_ctx, notice = fit_context(n_ctx, resolved.path, resolved.name, asked)
    if notice is not None:
        (notify or print_notice)(notice, False)
    engine = load_engine(
        resolved.path,
        n_ctx=n_ctx,
        n_threads=pick("--threads", opts.threads, default_threads, config.threads),
        n_gpu_layers=gpu_layers,
        verbose=opts.verbose,
        model_name=resolved.name,
    )
    if gpu_layers and hasattr(engine, "_llm"):
        from_config = gpu_layers != opts.gpu_layers
        asked = f"gpu_layers = {gpu_layers} in config.toml" if from_config else None
        report_offload(offload_of(engine), notify or print_notice, asked=asked)
    return engine
