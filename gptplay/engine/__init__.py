"""The engine: loads a GGUF and streams tokens with their probabilities.

Only ``gptplay.engine.llama`` imports llama_cpp, and only when a model is loaded.
"""

from gptplay.engine.base import Engine, Stream
from gptplay.engine.types import (
    Alternative,
    ChatInfo,
    Completion,
    SamplingParams,
    ScoredToken,
    TokenEvent,
    TokenPiece,
)

__all__ = [
    "Alternative",
    "ChatInfo",
    "Completion",
    "Engine",
    "SamplingParams",
    "ScoredToken",
    "Stream",
    "TokenEvent",
    "TokenPiece",
    "load_engine",
]


def load_engine(path, **kwargs) -> Engine:
    """Load the real llama.cpp engine for a GGUF path (imports llama_cpp lazily)."""
    from gptplay.engine.llama import LlamaEngine

    return LlamaEngine(path, **kwargs)
