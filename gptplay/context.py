"""The context size a model is loaded with: checked against the model's file before allocating.

llama.cpp allocates the KV cache for the whole context when the model loads: a value far
above what the model was trained on costs gigabytes (3x Gemma 3's 32,768 took 2.2 GB) and
a model gives nonsense past its trained length, so such a value is refused here, before
anything is allocated. A value below llama.cpp's smallest context is raised, and said.
"""

from __future__ import annotations

from pathlib import Path

from gptplay.errors import UsageError

MIN_CTX = 256  # llama.cpp pads a smaller context up to this (engine/llama.py keeps the same)


def trained_context(path: Path) -> int | None:
    """The context length the GGUF says its model was trained on (None if it does not say)."""
    from gptplay.errors import ModelError
    from gptplay.gguf_info import read_gguf

    try:
        value = read_gguf(path).arch_get("context_length")
    except ModelError:
        return None  # not a readable GGUF: the engine's own check says so, better
    return value if isinstance(value, int) and value > 0 else None


def fit_context(n_ctx: int, path: Path, model: str, asked: str) -> tuple[int, str | None]:
    """``(n_ctx to load with, a notice or None)``; a UsageError above the trained context.

    ``asked`` names where the value came from (``--ctx 100000``, ``ctx = 100000 in
    config.toml``), so the message points at what to change.
    """
    if n_ctx < MIN_CTX:
        return MIN_CTX, f"{asked} is raised to {MIN_CTX}, the smallest context llama.cpp allocates"
    path = Path(path)
    trained = trained_context(path) if path.is_file() else None
    if trained is not None and n_ctx > trained:
        raise UsageError(
            f"{asked} is above {model}'s trained context of {trained:,} tokens.",
            hint=f"use at most {trained}: the memory for the whole context is allocated when "
            "the model loads, and past its trained length a model's text falls apart.",
        )
    return n_ctx, None
