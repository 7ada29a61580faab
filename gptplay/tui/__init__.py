"""The Textual playground. ``create_app`` is shared by `gptplay tui`, the tests and benchmarks.

Textual is imported only when an app is created, so `gptplay --help` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gptplay.engine.base import Engine
    from gptplay.settings import Resolved, SettingsStack
    from gptplay.tui.app import PlaygroundApp


def create_app(
    engine_factory: Callable[[Resolved], Engine],
    *,
    layers: SettingsStack | None = None,
    library: str | Path | None = None,
    prompt: str | None = None,
    top: int = 10,
) -> PlaygroundApp:
    """The app; ``engine_factory(settings)`` loads the model they name (in a worker thread).

    ``layers`` are the settings below and above the open prompt's [params]: the defaults,
    config.toml and the command line's flags (none: the built-in defaults only).
    """
    from gptplay.library import Library
    from gptplay.tui.app import PlaygroundApp

    return PlaygroundApp(
        engine_factory, layers=layers, library=Library.default(library), prompt=prompt, top=top
    )
