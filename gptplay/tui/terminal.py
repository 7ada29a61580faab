"""Textual's driver on its own copy of the terminal's descriptor.

While a model loads, llama-cpp-python (verbose=False) points descriptors 1 and 2 at
/dev/null for the whole process. Textual draws on descriptor 2, so every frame drawn
during a load was lost (the query fields stayed blank until something redrew them), and
a Ctrl+Q in that time sent the terminal's restore sequence nowhere: the screen stayed in
the app's alternate screen. A duplicate of the descriptor is not touched by that dup2.
"""

from __future__ import annotations

import os
import sys

from textual.drivers.linux_driver import LinuxDriver


class OwnTerminalDriver(LinuxDriver):
    """LinuxDriver writing to a duplicate of standard error's descriptor."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stream = self._file or sys.__stderr__
        if stream is not None:
            self._file = os.fdopen(
                os.dup(stream.fileno()),
                "w",
                encoding=stream.encoding,
                errors=getattr(stream, "errors", None) or "strict",
            )
