"""The project's own errors: each carries one readable message for the user."""

from __future__ import annotations

from collections.abc import Iterable


def excerpt(value: object, limit: int = 40) -> str:
    """A value as an error message quotes it: repr'd and cut to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def did_you_mean(word: str, known: Iterable[str], prefix: str = "", n: int = 3) -> str | None:
    """'did you mean X or Y?' for the (at most n) known names close to a mistyped one."""
    import difflib

    close = difflib.get_close_matches(word, list(known), n=n, cutoff=0.5)
    return f"did you mean {' or '.join(prefix + c for c in close)}?" if close else None


class GptplayError(Exception):
    """An error the CLI shows as one line (plus an optional hint) and exits non-zero."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ModelError(GptplayError):
    """A model that cannot be found, read or loaded."""


class ContextOverflowError(GptplayError):
    """A prompt that does not fit the model's context window."""

    def __init__(self, prompt_tokens: int, n_ctx: int, what: str = "prompt") -> None:
        super().__init__(
            f"The {what} is {prompt_tokens} tokens but the context holds {n_ctx}.",
            hint="shorten it, or raise --ctx (up to the model's trained context length).",
        )
        self.prompt_tokens = prompt_tokens
        self.n_ctx = n_ctx


class UsageError(GptplayError):
    """A flag or argument with a value out of range."""

    exit_code = 2
