"""The real engine: llama.cpp through llama-cpp-python's low-level bindings.

Only gptplay/engine/ imports llama_cpp. The pieces: ``loader`` (model and context),
``kvcache`` (what the cache holds, decoding), ``sampler`` (llama.cpp's sampler chain),
``generate`` (the decode loop), ``scoring`` (batched scoring), ``threads`` (the rate watch).
"""

from __future__ import annotations

import ctypes
import os
import random
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from gptplay.engine import generate, scoring
from gptplay.engine.base import CancelCheck, Stream
from gptplay.engine.gguf_check import check_gguf
from gptplay.engine.grammars import resolve_bias
from gptplay.engine.kvcache import KVCache
from gptplay.engine.loader import load, meta
from gptplay.engine.offload import Offload, gpu_offload_supported, plan
from gptplay.engine.probs import LogitReader
from gptplay.engine.sampler import Candidates
from gptplay.engine.stops import StopMatcher
from gptplay.engine.threads import RateWatch
from gptplay.engine.types import (
    ChatInfo,
    Completion,
    SamplingParams,
    ScoredToken,
    TokenEvent,
    TokenPiece,
    shown_tokens,
)
from gptplay.errors import ContextOverflowError

MIN_CTX = 256


def random_seed() -> int:
    """A fresh seed for runs that were given none; reported so the run can be repeated."""
    return random.SystemRandom().randrange(0, 2**32 - 1)


def default_threads() -> int:
    """CPU threads when neither --threads nor config.toml says (see docs/models.md)."""
    return os.cpu_count() or 1


class LlamaEngine:
    """A GGUF model loaded in llama.cpp, streaming tokens with their probabilities."""

    def __init__(
        self,
        path: str | Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        verbose: bool = False,
        model_name: str | None = None,
    ) -> None:
        path = Path(path)
        check_gguf(path)
        import llama_cpp

        self._lc = llama_cpp
        self.threads = n_threads or default_threads()
        n_ctx = max(n_ctx, MIN_CTX)
        self._loaded = load(
            llama_cpp,
            path,
            n_ctx=n_ctx,
            threads=self.threads,
            n_gpu_layers=n_gpu_layers,
            verbose=verbose,
        )
        self.path = path
        self.model_name = model_name or path.name
        # llama.cpp pads the context (600 -> 768); the size asked for is the one honoured
        self.n_ctx = min(self._loaded.n_ctx, n_ctx)
        self.n_vocab = self._loaded.n_vocab
        self.n_gpu_layers = n_gpu_layers
        self._vocab = self._loaded.vocab
        self._cache = KVCache(llama_cpp, self._loaded)
        self._reader = LogitReader(self.n_vocab)
        self._candidates = Candidates(llama_cpp, self.n_vocab)
        self._pieces: dict[int, bytes] = {}
        self._watch = RateWatch(self.threads)
        self._embedder = None  # made on the first embed() call (engine/embed.py)

    def __del__(self) -> None:
        embedder = getattr(self, "_embedder", None)
        if embedder is not None:
            embedder.close()
        loaded = getattr(self, "_loaded", None)
        if loaded is not None:
            loaded.close(self._lc)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One mean-pooled embedding per text (rows), from a context of its own."""
        if self._embedder is None:
            from gptplay.engine.embed import Embedder

            self._embedder = Embedder(self._lc, self._loaded.model, self.threads)
        return self._embedder.embed([self.tokenize(t) for t in texts])

    # ---- what was loaded ------------------------------------------------------------

    def offload_info(self) -> Offload:
        """The GPU offload this load asked for and got, in llama.cpp's layer count."""
        return plan(self.n_gpu_layers, self._loaded.n_layer, gpu_offload_supported())

    @property
    def last_prefix_reused(self) -> int:
        """Positions the last scoring call took from the KV cache."""
        return self._cache.last_prefix_reused

    # ---- tokens ---------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        data = text.encode("utf-8")
        lc = self._lc
        n = len(data) + 2
        while True:
            buf = (lc.llama_token * n)()
            got = lc.llama_tokenize(self._vocab, data, len(data), buf, n, add_bos, True)
            if got >= 0:
                return list(buf[:got])
            n = -got

    def logit_bias(self, entries: tuple[str, ...]) -> list[tuple[int, float]]:
        """--logit-bias entries as (token id, bias); a text must be exactly one token."""
        return resolve_bias(entries, self.n_vocab, self.tokenize, self.piece)

    def piece(self, token: int) -> bytes:
        """The raw bytes of one token (control tokens as their text, e.g. ``<eos>``)."""
        cached = self._pieces.get(token)
        if cached is None:
            buf = ctypes.create_string_buffer(256)
            n = self._lc.llama_token_to_piece(self._vocab, token, buf, 256, 0, True)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = self._lc.llama_token_to_piece(self._vocab, token, buf, -n, 0, True)
            cached = self._pieces[token] = buf.raw[:n]
        return cached

    def pieces(self, text: str, add_bos: bool = True) -> list[TokenPiece]:
        return [TokenPiece(t, self.piece(t)) for t in self.tokenize(text, add_bos)]

    def detokenize(self, ids: list[int]) -> bytes:
        return b"".join(self.piece(t) for t in ids)

    def token_bos(self) -> int:
        return int(self._lc.llama_vocab_bos(self._vocab))

    def chat_info(self) -> ChatInfo:
        """The GGUF's ``tokenizer.chat_template`` (None for a base model) and BOS/EOS text.

        Read as text only: a template with a syntax error fails in chat, not at load.
        """
        template = meta(self._lc, self._loaded.model, "tokenizer.chat_template") or None

        def text(token: int) -> str:
            return self.piece(token).decode("utf-8", "replace") if token >= 0 else ""

        eos = int(self._lc.llama_vocab_eos(self._vocab))
        return ChatInfo(template, text(self.token_bos()), text(eos))

    def cached_prefix(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` generation will take from the KV cache."""
        return self._cache.canonical_reuse(ids)

    def is_end(self, token: int) -> bool:
        return bool(self._lc.llama_vocab_is_eog(self._vocab, token))

    def check_fits(self, n_prompt: int, what: str = "prompt") -> None:
        """Raise ContextOverflowError unless the prompt leaves room for one token."""
        if n_prompt >= self.n_ctx:
            raise ContextOverflowError(n_prompt, self.n_ctx, what)

    def reset(self) -> None:
        """Forget the KV cache, so the next call evaluates its whole prompt afresh."""
        self._cache.reset()

    # ---- generation -----------------------------------------------------------------

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
        """Stream a completion; each event carries the token's probability and top alternatives."""
        params.validate()
        ids = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        self.check_fits(len(ids))
        seed = params.seed if params.seed is not None else random_seed()
        state = {"finish": "length", "count": 0, "first": None, "cached": 0}
        events: list[TokenEvent] = []
        start = time.perf_counter()

        def run():
            matcher = StopMatcher(params.stop)
            inner = generate.events(self, ids, params, seed, top, probs, sampled, cancel, state)
            try:
                for event in inner:
                    for out in matcher.feed(event):
                        events.append(out)
                        yield out
                    if matcher.stopped:
                        state["finish"] = "stop"
                        return
                for out in matcher.flush():
                    events.append(out)
                    yield out
            except GeneratorExit:  # the consumer stopped reading (Ctrl-C, a closed screen)
                state["finish"] = "cancelled"
                raise
            finally:
                inner.close()

        def finish() -> Completion:
            return Completion(
                tokens=shown_tokens(events),
                prompt_tokens=len(ids),
                finish_reason=state["finish"],
                seed=seed,
                model=self.model_name,
                elapsed_s=time.perf_counter() - start,
                time_to_first_token_s=state["first"],
                text="".join(e.text for e in events),
                events=tuple(events),
                cached_tokens=state["cached"],
                complete=state.get("complete"),
                refused=state.get("refused", 0),
                generated=state["count"],
            )

        return Stream(run(), finish, params.json_schema)

    def stream_many(
        self, prompt: str | list[int], params: SamplingParams, seeds: list[int], *, top: int = 5
    ) -> list[Completion]:
        """One completion per seed after one prompt: the prompt decoded once, the chains
        decoded together (engine/multi.py); one stream after another where they do not fit
        the context or a grammar constrains them."""
        from gptplay.engine import multi

        params.validate()
        ids = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        self.check_fits(len(ids))
        if not multi.fits(self, len(ids), len(seeds), params):
            return [self.stream(ids, replace(params, seed=s), top=top).run() for s in seeds]
        return multi.sample_many(self, ids, params, list(seeds), top)

    def note_rate(self) -> None:
        """Called after each generated token's decode: the rate watch times the steps."""
        self._watch.step()

    def rate_notice(self) -> str | None:
        """Once per engine: a line saying the last generation was held up by a busy core."""
        return self._watch.notice()

    # ---- scoring --------------------------------------------------------------------

    def score(self, context: str, continuation: str, *, top: int = 0) -> list[ScoredToken]:
        """Log-probability of each token of ``continuation`` after ``context``."""
        ctx_ids = self.tokenize(context) if context else [self.token_bos()]
        return self.score_tokens(ctx_ids, self.tokenize(continuation, add_bos=False), top=top)

    def score_tokens(
        self, context: list[int], continuation: list[int], *, top: int = 0
    ) -> list[ScoredToken]:
        """Score ``continuation`` token by token, reusing the KV cache for a shared prefix."""
        if not context:
            raise ValueError("score_tokens needs at least one context token (e.g. BOS)")
        self.check_fits(len(context) + len(continuation), "text to score")
        return scoring.score_tokens(self, context, continuation, top=top)

    def score_choices(
        self, context: list[int], choices: list[list[int]]
    ) -> list[list[ScoredToken]]:
        """Score several continuations of one context, decoding the context only once.

        The context's rest (what the cache does not hold) and the first multi-token
        choice's tokens but the last are one decode; the cache ends on the context.
        Scoring's decodes are padded, so the scores do not depend on what the cache held
        before (see engine/kvcache.py).
        """
        if not context:
            raise ValueError("score_choices needs at least one context token (e.g. BOS)")
        self.check_fits(len(context) + max((len(c) for c in choices), default=0), "text to score")
        return scoring.score_choices(self, context, choices)
