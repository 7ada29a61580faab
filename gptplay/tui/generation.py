"""Generation off the screen's thread: a worker streams into a queue the screen drains.

The worker never waits for the screen: it appends each token to a deque, and a timer on
the screen's thread takes everything that arrived since the last frame and appends it in
one go. So the model runs at its own speed and the screen repaints at most 10 times a
second (30 cost the model more and reads no better).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gptplay.engine.base import Engine
from gptplay.engine.types import Completion, SamplingParams, TokenEvent
from gptplay.errors import GptplayError

FRAME_S = 1 / 10


@dataclass(frozen=True)
class Request:
    """One generation: from text (a fresh run) or from token ids (continue, branch)."""

    prompt: str | list[int]
    params: SamplingParams
    top: int
    run: int  # increases with every request, so late tokens of a cancelled run are dropped


class Generator:
    """Runs requests on the engine one at a time and hands back tokens through a queue."""

    def __init__(self) -> None:
        self.lock = threading.Lock()  # one llama context: never two streams at once
        self.queue: deque[tuple[int, TokenEvent]] = deque()
        self.run = 0

    def next_run(self) -> int:
        self.run += 1
        return self.run

    def generate(
        self,
        engine: Engine,
        request: Request,
        cancelled: Callable[[], bool],
        started: Callable[[list[int]], None],
    ) -> Completion:
        """Stream one request (in a worker thread); raise GptplayError for a bad request."""
        with self.lock:
            prompt = request.prompt
            ids = engine.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
            started(ids)
            stream = engine.stream(ids, request.params, top=request.top, cancel=cancelled)
            for event in stream:
                self.queue.append((request.run, event))
            assert stream.completion is not None
            return stream.completion

    def drain(self) -> list[TokenEvent]:
        """The tokens of the current run that arrived since the last call."""
        out: list[TokenEvent] = []
        while self.queue:
            run, event = self.queue.popleft()
            if run == self.run:
                out.append(event)
        return out


__all__ = ["FRAME_S", "Generator", "GptplayError", "Request"]
