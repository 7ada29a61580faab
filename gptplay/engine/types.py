"""The engine's own frozen types: raw llama.cpp data is converted into these at once."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Alternative:
    """One candidate token at a position, keyed by id, with its raw bytes."""

    id: int
    bytes: bytes
    logprob: float

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


@dataclass(frozen=True)
class SamplingParams:
    """Sampler settings, with llama.cpp's defaults; temperature 0 means greedy."""

    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    max_tokens: int = 128
    stop: tuple[str, ...] = ()
    seed: int | None = None

    def validate(self) -> None:
        """Raise UsageError naming the option whose value is out of range."""
        from gptplay.errors import UsageError

        checks = [
            ("--temperature", self.temperature >= 0, "must be >= 0"),
            ("--top-k", self.top_k >= 0, "must be >= 0 (0 turns it off)"),
            ("--top-p", 0 < self.top_p <= 1, "must be in (0, 1]"),
            ("--min-p", 0 <= self.min_p <= 1, "must be in [0, 1]"),
            ("--repeat-penalty", self.repeat_penalty > 0, "must be > 0 (1 turns it off)"),
            ("--presence-penalty", -2 <= self.presence_penalty <= 2, "must be in [-2, 2]"),
            ("--frequency-penalty", -2 <= self.frequency_penalty <= 2, "must be in [-2, 2]"),
            ("--max-tokens", self.max_tokens >= 1, "must be >= 1"),
            ("--seed", self.seed is None or 0 <= self.seed < 2**32, "must be in [0, 2**32)"),
        ]
        for option, ok, rule in checks:
            if not ok:
                value = option.lstrip("-").replace("-", "_")
                raise UsageError(f"{option} {getattr(self, value)!r} is out of range: {rule}.")
        if any(s == "" for s in self.stop):
            raise UsageError("--stop '' is empty: a stop sequence needs at least one character.")


@dataclass(frozen=True)
class Completion:
    """The summary of one streamed completion."""

    tokens: int
    prompt_tokens: int
    finish_reason: str  # "stop", "length", "cancelled" or "context"
    seed: int
    model: str
    elapsed_s: float
    time_to_first_token_s: float | None
    text: str = ""
    events: tuple[TokenEvent, ...] = field(default=(), repr=False)
    cached_tokens: int = 0  # prompt tokens taken from the KV cache instead of evaluated

    @property
    def tokens_per_s(self) -> float:
        """Generation rate between the first and the last token (prompt time excluded)."""
        if self.tokens < 2 or self.time_to_first_token_s is None:
            return 0.0
        span = self.elapsed_s - self.time_to_first_token_s
        return (self.tokens - 1) / span if span > 0 else 0.0


@dataclass(frozen=True)
class ChatInfo:
    """What a model's file says about chatting with it: its Jinja template and special tokens."""

    template: str | None
    bos_token: str = ""
    eos_token: str = ""
    # A server that renders its own template (llama-server's /apply-template): messages -> text
    apply: Callable[[list[dict]], str] | None = field(default=None, compare=False)
