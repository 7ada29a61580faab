"""Options shared by the commands that load a model and sample from it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

import typer

from gptplay.engine.types import SamplingParams

SAMPLING = "Sampling"
MODEL = "Model"

ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="A .gguf path, or 'default' (embedded Gemma 3 270M).",
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


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def unescape(text: str) -> str:
    """Let a shell user write a newline stop sequence as '\\n' (also \\t, \\r, \\\\)."""
    return re.sub(r"\\([ntr\\])", lambda m: _ESCAPES[m.group(1)], text)


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
    """Build and validate SamplingParams from the flags (UsageError names a bad flag)."""
    params = SamplingParams(
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        min_p=min_p,
        repeat_penalty=repeat_penalty,
        presence_penalty=presence_penalty,
        frequency_penalty=frequency_penalty,
        max_tokens=max_tokens,
        stop=tuple(unescape(s) for s in stop or ()),
        seed=seed,
    )
    params.validate()
    return params


def load(opts: ModelOptions):
    """Resolve and load the model named by the options (lazy: llama_cpp imported here)."""
    from gptplay.engine import load_engine
    from gptplay.models import resolve_model

    resolved = resolve_model(opts.model)
    return load_engine(
        resolved.path,
        n_ctx=opts.n_ctx,
        n_threads=opts.threads,
        n_gpu_layers=opts.gpu_layers,
        verbose=opts.verbose,
        model_name=resolved.name,
    )
