"""The Textual playground. ``create_app`` is shared by `gptplay tui`, the tests and benchmarks.

Textual is imported only when an app is created, so `gptplay --help` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gptplay.engine.base import Engine
    from gptplay.tui.app import PlaygroundApp


def create_app(
    engine_factory: Callable[[str | None], Engine],
    *,
    model: str | None = None,
    library: str | Path | None = None,
    prompt: str | None = None,
    top: int = 10,
    history: bool = True,
) -> PlaygroundApp:
    """The app; ``engine_factory(model)`` loads a model (called in a worker thread)."""
    from gptplay.library import Library
    from gptplay.tui.app import PlaygroundApp

    return PlaygroundApp(
        engine_factory,
        model=model,
        library=Library.default(library),
        prompt=prompt,
        top=top,
        history=history,
    )
