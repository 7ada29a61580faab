"""The prompt library's own error: a bad prompt file, name or composition request."""

from __future__ import annotations

from pathlib import Path

from gptplay.errors import GptplayError


class PromptError(GptplayError):
    """A prompt file that does not parse or validate, or a request it cannot satisfy.

    When the problem is in a file, ``source``, ``line`` and ``col`` say where, and the
    message reads ``file:line:col: what is wrong``.
    """

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        source: str | Path | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.problem = message
        self.source = None if source is None else str(source)
        self.line = line
        self.col = col
        if self.source is not None:
            message = f"{self.source}:{line or 1}:{col or 1}: {message}"
        super().__init__(message, hint)
