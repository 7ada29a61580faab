"""The generated text as token events, with branches: no Textual here, so it is tested directly."""

from __future__ import annotations

from dataclasses import dataclass, field

from gptplay.engine.decode import Utf8Stream
from gptplay.engine.types import Alternative, Completion, TokenEvent


@dataclass
class Branch:
    """One line of generated tokens after the prompt."""

    events: list[TokenEvent] = field(default_factory=list)
    completion: Completion | None = None  # the summary of the run that last added to it

    @property
    def ids(self) -> list[int]:
        """The generated token ids (a UTF-8 tail event, id -1, is not a token)."""
        return [e.id for e in self.events if e.id >= 0]

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events)


class Transcript:
    """The current branch of output, and the branches it was cut from (most recent last)."""

    def __init__(self) -> None:
        self.prompt_ids: list[int] = []
        self.current = Branch()
        self.history: list[Branch] = []

    def start(self, prompt_ids: list[int]) -> None:
        """A fresh run: the branches of the previous prompt are forgotten."""
        self.prompt_ids = list(prompt_ids)
        self.current = Branch()
        self.history.clear()

    def append(self, events: list[TokenEvent]) -> None:
        self.current.events.extend(events)

    def branch(self, index: int, alt: Alternative) -> list[int]:
        """Cut at token ``index``, take ``alt`` there; return the token ids to continue from.

        The branch that was cut is kept, so ``back`` can return to it.
        """
        old = self.current
        kept = old.events[:index]
        chosen = old.events[index]
        decoder = Utf8Stream()  # bring the decoder to the cut, so alt completes any character
        for e in kept:
            decoder.feed(e.bytes)
        taken = TokenEvent(
            id=alt.id,
            bytes=alt.bytes,
            text=decoder.feed(alt.bytes),
            logprob=alt.logprob,
            top=chosen.top,
        )
        self.history.append(old)
        self.current = Branch([*kept, taken])
        return self.prompt_ids + self.current.ids

    def back(self) -> bool:
        """Return to the branch this one was cut from; False when there is none."""
        if not self.history:
            return False
        self.current = self.history.pop()
        return True

    @property
    def depth(self) -> int:
        return len(self.history)
