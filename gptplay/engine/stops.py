"""Stop sequences matched across token boundaries; the stop text itself is never emitted."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gptplay.engine.types import TokenEvent


class StopMatcher:
    """Holds back tokens whose text could be the start of a stop sequence.

    ``feed`` returns the events that are now safe to show; once a stop sequence is seen it
    returns the events before it (the last one cut at the stop) and sets ``stopped``.
    """

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.stopped = False
        self._pending: list[TokenEvent] = []
        self._text = ""

    def feed(self, event: TokenEvent) -> list[TokenEvent]:
        if not self.stops:
            return [event]
        self._pending.append(event)
        self._text += event.text
        hits = [i for i in (self._text.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped = True
            return self._take(min(hits), cut=True)
        return self._take(len(self._text) - self._held_back())

    def flush(self) -> list[TokenEvent]:
        """Everything still held back, at the end of generation."""
        out, self._pending, self._text = self._pending, [], ""
        return out

    def _held_back(self) -> int:
        """Length of the longest suffix of the text that begins some stop sequence."""
        longest = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(self._text)), longest, -1):
                if self._text.endswith(stop[:k]):
                    longest = k
                    break
        return longest

    def _take(self, upto: int, cut: bool = False) -> list[TokenEvent]:
        """Release the events whose text ends by ``upto``; with ``cut``, trim the one across it."""
        out: list[TokenEvent] = []
        pos = 0
        while self._pending:
            event = self._pending[0]
            end = pos + len(event.text)
            if end <= upto:
                out.append(self._pending.pop(0))
                pos = end
                continue
            if cut and pos < upto:
                out.append(replace(event, text=event.text[: upto - pos]))
            break
        if cut:
            self._pending.clear()
            self._text = ""
        else:
            self._text = self._text[pos:]
        return out
