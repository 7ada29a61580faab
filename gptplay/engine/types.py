"""The engine's own frozen types: raw llama.cpp data is converted into these at once."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gptplay.settings.sampling import SamplingParams

__all__ = [
    "Alternative",
    "ChatInfo",
    "Completion",
    "SamplingParams",
    "ScoredToken",
    "TokenEvent",
    "TokenPiece",
]


@dataclass(frozen=True)
class Alternative:
    """One candidate token at a position, keyed by id, with its raw bytes."""

    id: int
    bytes: bytes
    logprob: float
    allowed: bool | None = None  # under a grammar: whether it could have come next

    @property
    def text(self) -> str:
        """The piece as text; bytes of an unfinished UTF-8 character are shown escaped."""
        return self.bytes.decode("utf-8", errors="backslashreplace")

    @property
    def prob(self) -> float:
        return math.exp(self.logprob)


@dataclass(frozen=True)
class TokenEvent:
    """One generated token: what was chosen, how likely it was, and what else was likely.

    ``text`` is what this token adds to the decoded output: it is empty for a token that
    ends inside a UTF-8 character, and the token that completes the character carries it.
    """

    id: int
    bytes: bytes
    text: str
    logprob: float | None = None
    top: tuple[Alternative, ...] = ()
    sampled_logprob: float | None = None
    sampled_top: tuple[Alternative, ...] = ()
    # under a grammar (or choices, a schema): the probability among the tokens it allowed
    constrained_logprob: float | None = None

    @property
    def prob(self) -> float | None:
        return None if self.logprob is None else math.exp(self.logprob)


@dataclass(frozen=True)
class ScoredToken:
    """A token of a given text and the log-probability the model gave it in its context."""

    id: int
    bytes: bytes
    logprob: float | None
    top: tuple[Alternative, ...] = ()

    @property
    def text(self) -> str:
        return self.bytes.decode("utf-8", errors="backslashreplace")


@dataclass(frozen=True)
class TokenPiece:
    """A token id and its raw bytes, as the tokenizer splits a text."""

    id: int
    bytes: bytes

    @property
    def text(self) -> str:
        return self.bytes.decode("utf-8", errors="backslashreplace")


def shown_tokens(events: Sequence[TokenEvent]) -> int:
    """How many tokens the output shows (a UTF-8 tail event, id -1, is not a token)."""
    return sum(1 for e in events if e.id >= 0)


@dataclass(frozen=True)
class Completion:
    """The summary of one streamed completion."""

    tokens: int  # the tokens the output shows, one per token event (``shown_tokens``)
    prompt_tokens: int
    finish_reason: str  # "stop", "length", "cancelled" or "context"
    seed: int
    model: str
    elapsed_s: float
    time_to_first_token_s: float | None
    text: str = ""
    events: tuple[TokenEvent, ...] = field(default=(), repr=False)
    cached_tokens: int = 0  # prompt tokens taken from the KV cache instead of evaluated
    # under a grammar: whether the output is a whole sentence of it (None: no grammar)
    complete: bool | None = None
    refused: int = 0  # draws the grammar refused (and drew again from what it allowed)
    # under a JSON schema: whether the text validates against it, and if not, why
    schema_valid: bool | None = None
    schema_problem: str = ""
    # every token sampled, those a stop sequence consumed included (None: as many as shown)
    generated: int | None = None

    @property
    def unshown(self) -> int:
        """Tokens sampled but not shown: a stop sequence's (or held back at an interrupt)."""
        return max(0, (self.generated or 0) - self.tokens)

    @property
    def tokens_per_s(self) -> float:
        """Generation rate between the first and the last token (prompt time excluded)."""
        n = self.tokens + self.unshown  # every token decoded took its time
        if n < 2 or self.time_to_first_token_s is None:
            return 0.0
        span = self.elapsed_s - self.time_to_first_token_s
        return (n - 1) / span if span > 0 else 0.0


@dataclass(frozen=True)
class ChatInfo:
    """What a model's file says about chatting with it: its Jinja template and special tokens."""

    template: str | None
    bos_token: str = ""
    eos_token: str = ""
    # A server that renders its own template (llama-server's /apply-template): messages -> text
    apply: Callable[[list[dict]], str] | None = field(default=None, compare=False)
