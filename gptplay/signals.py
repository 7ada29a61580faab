"""SIGTERM and SIGHUP handled as Ctrl-C, in one place for every command.

``install()`` (called once by the CLI's entry point) makes both signals raise
KeyboardInterrupt, so each command's Ctrl-C path runs: a stream keeps what it printed and
prints its summary, ``eval`` writes ``--output`` and ``--plot`` marked interrupted. The CLI
then exits with 128 + the signal's number (143 for SIGTERM, 129 for SIGHUP), as a shell
reports a process stopped by that signal. A front-end that cannot take an exception at
any moment (the TUI's event loop) registers ``on_signal(callback)`` instead.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

HANDLED = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)

_received: list[int] = []
_callbacks: list[Callable[[int], None]] = []


def _handler(signum: int, frame) -> None:
    first = not _received
    _received.append(signum)
    if _callbacks:
        _callbacks[-1](signum)
    elif first:  # a second signal while the first is being handled is not a new interrupt
        raise KeyboardInterrupt


def install() -> None:
    """Handle SIGTERM and SIGHUP like Ctrl-C (main thread only; a no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in HANDLED:
        signal.signal(signum, _handler)


def received() -> int | None:
    """The first SIGTERM or SIGHUP this process got (or SIGINT inside ``on_signal``), if any."""
    return _received[0] if _received else None


def exit_status(default: int) -> int:
    """128 + the signal that stopped the command, else ``default``."""
    signum = received()
    return 128 + signum if signum is not None else default


@contextlib.contextmanager
def on_signal(callback: Callable[[int], None], *, interrupt: bool = False) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP call ``callback(signum)`` instead of raising.

    With ``interrupt``, SIGINT too (a `kill -INT`; Ctrl-C in a raw-mode screen is a key):
    it is then recorded like the others, so the command exits 130.
    """
    _callbacks.append(callback)
    previous = None
    if interrupt and threading.current_thread() is threading.main_thread():
        # set before asyncio starts: its runner only takes over SIGINT from the default
        previous = signal.signal(signal.SIGINT, _handler)
    try:
        yield
    finally:
        _callbacks.remove(callback)
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def ignore_interrupts() -> None:
    """From here on, Ctrl-C and these signals are ignored: the process is on its way out."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGINT, *HANDLED):
        signal.signal(signum, signal.SIG_IGN)
