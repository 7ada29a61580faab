"""A scripted engine with the real one's interface, for fast screen and edge-case tests."""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace

from gptplay.engine.base import CancelCheck, Stream
from gptplay.engine.decode import Utf8Stream
from gptplay.engine.offload import Offload, plan
from gptplay.engine.stops import StopMatcher
from gptplay.engine.types import (
    Alternative,
    ChatInfo,
    Completion,
    SamplingParams,
    ScoredToken,
    TokenEvent,
    TokenPiece,
    shown_tokens,
)
from gptplay.errors import ContextOverflowError

EOS = 257  # a token id no byte maps to


class FakeEngine:
    """Tokens are UTF-8 bytes (id = byte value + 1); replies come from ``enqueue``.

    Each scripted reply is a list of pieces; every piece gets probability 0.5 and two
    made-up alternatives, so screens can show and branch on them.
    """

    def __init__(
        self,
        n_ctx: int = 512,
        delay_s: float = 0.0,
        model_name: str = "fake",
        clock: Callable[[], float] = time.perf_counter,
        chat_template: str | None = None,
    ) -> None:
        self.model_name = model_name
        self.n_ctx = n_ctx
        self.delay_s = delay_s
        self.clock = clock  # a scripted clock gives snapshot tests fixed timings
        self.chat_template = chat_template
        self.prompts: list[list[int]] = []
        self.params: list[SamplingParams] = []  # what each stream() was asked to sample with
        self.loads: list[object] = []  # the resolved settings each load_with() was given
        self._queue: list[list[str]] = []
        self._cache: list[int] = []  # the last prompt: what a KV cache would hold
        self._reused = 0
        self.embedded: list[list[str]] = []  # the texts of each embed() call
        self.scored: list[list[int]] = []  # the context of each score_choices() call
        self.many: list[int] = []  # the seed count of each stream_many() call

    threads = 1

    def rate_notice(self) -> None:
        return None

    def enqueue(self, pieces: list[str]) -> None:
        self._queue.append(list(pieces))

    def loader(self) -> Callable[..., FakeEngine]:
        """A model loader for the CLI (its ENGINE_LOADER hook) that returns this engine.

        It records the resolved settings it was given, so a test sees the model, ctx,
        threads and GPU layers a command would have loaded the real model with.
        """

        def load_with(settings: object, **_: object) -> FakeEngine:
            self.loads.append(settings)
            return self

        return load_with

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return ([0] if add_bos else []) + [b + 1 for b in text.encode("utf-8")]

    def pieces(self, text: str, add_bos: bool = True) -> list[TokenPiece]:
        return [TokenPiece(t, self.piece(t)) for t in self.tokenize(text, add_bos)]

    def piece(self, token: int) -> bytes:
        return b"<bos>" if token == 0 else bytes([token - 1]) if token <= 256 else b"?"

    def detokenize(self, ids: list[int]) -> bytes:
        return b"".join(self.piece(t) for t in ids if t != 0)

    def logit_bias(self, entries: tuple[str, ...]) -> list[tuple[int, float]]:
        """Resolved as the real engine does, on the fake's byte vocabulary (258 ids)."""
        from gptplay.engine.grammars import resolve_bias

        return resolve_bias(entries, 258, self.tokenize, self.piece)

    def chat_info(self) -> ChatInfo:
        return ChatInfo(self.chat_template, "<bos>", "<eos>")

    def is_end(self, token: int) -> bool:
        return token == EOS

    def token_bos(self) -> int:
        return 0

    def offload_info(self) -> Offload:
        """A fake has no GPU: nothing asked, nothing offloaded (one layer, for the sums)."""
        return plan(0, 1, False)

    @property
    def last_prefix_reused(self) -> int:
        """Positions the last prompt shared with the one before (what scoring would reuse)."""
        return self._reused

    def note_rate(self) -> None:
        """The real engine's per-token hook; nothing to watch here."""

    def cached_prefix(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` the last prompt shares (one is always re-read)."""
        previous = self._cache
        n = 0
        for a, b in zip(previous, ids):
            if a != b:
                break
            n += 1
        return max(min(n, len(ids) - 1), 0)

    def check_fits(self, n_prompt: int, what: str = "prompt") -> None:
        """Raise ContextOverflowError unless the prompt leaves room for one token."""
        if n_prompt >= self.n_ctx:
            raise ContextOverflowError(n_prompt, self.n_ctx, what)

    def reset(self) -> None:
        """Forget the 'KV cache': the next prompt shares nothing with the last."""
        self._cache = []

    def stream(
        self,
        prompt: str | list[int],
        params: SamplingParams,
        *,
        top: int = 5,
        probs: bool = True,
        sampled: bool = False,
        cancel: CancelCheck | None = None,
    ) -> Stream:
        ids = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        if len(ids) >= self.n_ctx:
            raise ContextOverflowError(len(ids), self.n_ctx)
        if params.logit_bias:  # refused here as the real engine refuses it
            self.logit_bias(params.logit_bias)
        previous = self._cache
        self._cache = ids
        cached = next((i for i, (a, b) in enumerate(zip(previous, ids[:-1])) if a != b), None)
        cached = min(len(previous), len(ids) - 1) if cached is None else cached
        self._reused = cached
        self.prompts.append(ids)
        self.params.append(params)
        script = self._queue.pop(0) if self._queue else ["fake ", "reply"]
        state = {"finish": "length", "events": []}
        start = self.clock()

        def run() -> Iterator[TokenEvent]:
            matcher = StopMatcher(params.stop)
            utf8 = Utf8Stream()
            for n, piece in enumerate(script[: params.max_tokens]):
                if self.delay_s:
                    time.sleep(self.delay_s)
                data = piece.encode("utf-8")
                alts = (
                    Alternative(1000 + n, data, math.log(0.5)),
                    Alternative(2000 + n, b" other", math.log(0.3)),
                    Alternative(3000 + n, b"\n", math.log(0.2)),
                )
                event = TokenEvent(
                    1000 + n,
                    data,
                    utf8.feed(data),
                    math.log(0.5) if probs else None,
                    alts[:top] if probs else (),
                )
                state["sampled"] = n + 1
                for out in matcher.feed(event):
                    state["events"].append(out)
                    yield out
                if matcher.stopped:
                    state["finish"] = "stop"
                    return
                if cancel is not None and cancel():
                    state["finish"] = "cancelled"
                    return
            else:
                state["finish"] = "stop" if len(script) < params.max_tokens else "length"
            for out in matcher.flush():
                state["events"].append(out)
                yield out

        def finish() -> Completion:
            events = tuple(state["events"])
            return Completion(
                shown_tokens(events),
                len(ids),
                state["finish"],
                params.seed or 0,
                self.model_name,
                self.clock() - start,
                0.0,
                "".join(e.text for e in events),
                events,
                cached,
                generated=state.get("sampled"),
            )

        return Stream(run(), finish, params.json_schema)

    def stream_many(
        self, prompt: str | list[int], params: SamplingParams, seeds: list[int], *, top: int = 5
    ) -> list[Completion]:
        """One completion per seed, one stream after another (the real engine batches them)."""
        self.many.append(len(seeds))
        return [self.stream(prompt, replace(params, seed=s), top=top).run() for s in seeds]

    def score_tokens(
        self, context: list[int], continuation: list[int], *, top: int = 0
    ) -> list[ScoredToken]:
        return [ScoredToken(t, self.piece(t), math.log(0.5)) for t in continuation]

    def score_choices(
        self, context: list[int], choices: list[list[int]]
    ) -> list[list[ScoredToken]]:
        self.scored.append(list(context))
        return [self.score_tokens(context, c) for c in choices]

    def score(self, context: str, continuation: str, *, top: int = 0) -> list[ScoredToken]:
        return self.score_tokens(
            self.tokenize(context), self.tokenize(continuation, False), top=top
        )

    def embed(self, texts: list[str]):
        """A bag of words hashed into 64 dimensions: texts sharing words are near."""
        import numpy as np

        out = np.zeros((len(texts), 64), np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, zlib.crc32(word.encode()) % 64] += 1.0
        self.embedded.append(list(texts))
        return out
