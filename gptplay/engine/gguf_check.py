"""Cheap checks of a model file before llama.cpp sees it, for errors a person can act on."""

from __future__ import annotations

from pathlib import Path

from gptplay.errors import ModelError

GGUF_MAGIC = b"GGUF"


def check_gguf(path: Path) -> None:
    """Raise ModelError if ``path`` is missing, unreadable, or not a GGUF file."""
    if not path.exists():
        raise ModelError(
            f"Model file not found: {path}",
            hint="pass --model with a path to a .gguf file, or --model default for the "
            "embedded Gemma 3 270M.",
        )
    if path.is_dir():
        raise ModelError(f"{path} is a directory, not a .gguf model file.")
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ModelError(f"Cannot read model file {path}: {exc.strerror}.") from None
    if head != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file (it does not start with the GGUF magic bytes).",
            hint="gptplay runs llama.cpp GGUF models; convert or download a .gguf file.",
        )
