"""Helpers for the TUI tests: a fake-engine app and waiting on a condition, not on a sleep."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

from gptplay.engine.fake import FakeEngine
from gptplay.tui import create_app

SIZE = (120, 40)
REPLY = [" la", " mer", " est", " belle", " ce", " soir"]


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app run until predicate() holds; fail with a clear message after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate.__doc__ or predicate}")
        await pilot.pause(0.02)
    await pilot.pause()


def sync(test):
    """Run an async test on a fresh event loop (no async plugin needed); fixtures still work."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return run


def fake_app(engine: FakeEngine | None = None, prompt: str | None = "translate", **kwargs):
    """The real app over a scripted engine; the library is the test's isolated user dir."""
    engine = engine or FakeEngine()
    return create_app(lambda model: engine, prompt=prompt, **kwargs), engine


async def ready(pilot) -> None:
    """Wait for the model to load (a worker) so Run is accepted."""
    await wait_until(pilot, lambda: pilot.app.engine is not None)


def idle(app) -> Callable[[], bool]:
    def done() -> bool:
        """the generation to finish"""
        return not app.generating and app.transcript.current.completion is not None

    return done


__all__ = ["REPLY", "SIZE", "fake_app", "idle", "ready", "sync", "wait_until"]
