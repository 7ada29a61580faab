"""The engine boundary: what the CLI, TUI and evaluation may ask of a model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

from gptplay.engine.offload import Offload
from gptplay.engine.types import (
    ChatInfo,
    Completion,
    SamplingParams,
    ScoredToken,
    TokenEvent,
    TokenPiece,
)

CancelCheck = Callable[[], bool]


class Stream:
    """An iterable of TokenEvents; ``completion`` holds the summary once it is exhausted."""

    def __init__(
        self,
        events: Iterator[TokenEvent],
        finish: Callable[[], Completion],
        schema: str | None = None,
    ) -> None:
        self._events = events
        self._finish = finish
        self._schema = schema  # a JSON schema the text is checked against at the end
        self.completion: Completion | None = None

    def __iter__(self) -> Iterator[TokenEvent]:
        try:
            yield from self._events
        finally:
            self.completion = self._judged(self._finish())

    def _judged(self, c: Completion) -> Completion:
        """The completion with its JSON schema verdict, where a schema constrained it."""
        if self._schema is None:
            return c
        from dataclasses import replace

        from gptplay.settings.json_schema import verdict

        valid, why = verdict(c.text, self._schema)
        return replace(c, schema_valid=valid, schema_problem="" if valid else why)

    def run(self) -> Completion:
        """Consume the whole stream and return its summary."""
        for _ in self:
            pass
        assert self.completion is not None
        return self.completion


class Engine(Protocol):
    """A loaded model. The real one is LlamaEngine; FakeEngine scripts one for UI tests."""

    model_name: str
    n_ctx: int
    threads: int  # CPU threads llama.cpp runs on (the fake: 1)

    def offload_info(self) -> Offload | None:
        """What the load asked of the GPU and got; None for an engine without one."""
        ...

    def rate_notice(self) -> str | None:
        """Once per engine, a line with the fix when the last generation was held up by
        a busy core (median step many times its fastest); otherwise None."""
        ...

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]: ...

    def pieces(self, text: str, add_bos: bool = True) -> list[TokenPiece]: ...

    def detokenize(self, ids: list[int]) -> bytes: ...

    def chat_info(self) -> ChatInfo: ...

    def piece(self, token: int) -> bytes: ...

    def is_end(self, token: int) -> bool: ...

    def cached_prefix(self, ids: list[int]) -> int: ...

    def check_fits(self, n_prompt: int, what: str = "prompt") -> None: ...

    def reset(self) -> None: ...

    def stream(
        self,
        prompt: str | list[int],
        params: SamplingParams,
        *,
        top: int = 5,
        probs: bool = True,
        sampled: bool = False,
        cancel: CancelCheck | None = None,
    ) -> Stream: ...

    def stream_many(
        self, prompt: str | list[int], params: SamplingParams, seeds: list[int], *, top: int = 5
    ) -> list[Completion]:
        """One completion per seed after one prompt (self-consistency's chains)."""
        ...

    def score_tokens(
        self, context: list[int], continuation: list[int], *, top: int = 0
    ) -> list[ScoredToken]: ...

    def score_choices(
        self, context: list[int], choices: list[list[int]]
    ) -> list[list[ScoredToken]]: ...

    def score(self, context: str, continuation: str, *, top: int = 0) -> list[ScoredToken]: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """One embedding per text (rows); an engine without embeddings has no such method."""
        ...
