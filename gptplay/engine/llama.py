"""The real engine: llama.cpp through llama-cpp-python. The only module that imports llama_cpp."""

from __future__ import annotations

import ctypes
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gptplay.engine.base import CancelCheck, Stream
from gptplay.engine.decode import Utf8Stream
from gptplay.engine.gguf_check import check_gguf
from gptplay.engine.probs import LogitReader, log_softmax, sampled_distribution
from gptplay.engine.stops import StopMatcher
from gptplay.engine.types import (
    Alternative,
    ChatInfo,
    Completion,
    SamplingParams,
    ScoredToken,
    TokenEvent,
    TokenPiece,
)
from gptplay.errors import ContextOverflowError, ModelError

# Rows of logits asked for in one scoring decode: each row is n_vocab floats (1 MiB for Gemma).
SCORE_CHUNK = 32
MIN_CTX = 256


def random_seed() -> int:
    """A fresh seed for runs that were given none; reported so the run can be repeated."""
    return random.SystemRandom().randrange(0, 2**32 - 1)


_SILENT_CALLBACK = None


def _silence_llama_log(llama_cpp) -> None:
    """Route llama.cpp's own log (which ignores verbose=False for some lines) to nowhere."""
    global _SILENT_CALLBACK
    if _SILENT_CALLBACK is None:
        # kept in a module global: ctypes callbacks must outlive the C side's use of them
        _SILENT_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user: None)
    llama_cpp.llama_log_set(_SILENT_CALLBACK, ctypes.c_void_p(0))


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
        if not verbose:
            _silence_llama_log(llama_cpp)
        threads = n_threads or os.cpu_count() or 1
        # llama.cpp pads a smaller context up to 256 but llama-cpp-python sizes its token
        # buffer from the request, so a smaller --ctx would overflow it mid-generation.
        n_ctx = max(n_ctx, MIN_CTX)
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=n_gpu_layers,
                logits_all=False,
                # A full-size sliding-window cache keeps every position, so a cached
                # prefix stays exact after the cache is trimmed (Gemma 3 uses SWA).
                swa_full=True,
                verbose=verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"{path}: llama.cpp could not load this model ({exc}).",
                hint="the file may be truncated, corrupt or of an unsupported architecture; "
                "download it again or choose another model.",
            ) from None
        self.path = path
        self.model_name = model_name or path.name
        # llama.cpp pads the context (600 -> 768) but the token buffer keeps the size asked
        # for: a prompt between the two would overflow it, so the smaller one is the limit.
        self.n_ctx = min(self._llm.n_ctx(), len(self._llm.input_ids))
        self.n_vocab = self._llm.n_vocab()
        self.n_gpu_layers = n_gpu_layers
        self.threads = threads  # recorded with each run: replays compare it
        self._vocab = self._llm._model.vocab
        self._reader = LogitReader(self.n_vocab)
        self._pieces: dict[int, bytes] = {}
        self.last_prefix_reused = 0  # positions the last score_tokens call took from the cache
        self._batch_prefix = 0  # cached positions [0, n) that score_choices decoded as one batch

    # ---- tokens -------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

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

    def chat_info(self) -> ChatInfo:
        """The GGUF's ``tokenizer.chat_template`` (None for a base model) and BOS/EOS text."""
        template = self._llm.metadata.get("tokenizer.chat_template") or None

        def text(token: int) -> str:
            return self.piece(token).decode("utf-8", "replace") if token >= 0 else ""

        return ChatInfo(template, text(self._llm.token_bos()), text(self._llm.token_eos()))

    def cached_prefix(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` generate() will take from the KV cache.

        Mirrors Llama.generate: a prompt wholly in the cache replays its last token to
        refresh the logits, unless they are still those of a live decode.
        """
        llm = self._llm
        n = self._shared_prefix(ids)
        if n == len(ids) and not (llm.n_tokens == n and not llm._requires_eval):
            n -= 1
        return max(n, 0)

    def is_end(self, token: int) -> bool:
        return bool(self._lc.llama_vocab_is_eog(self._vocab, token))

    def check_fits(self, n_prompt: int, what: str = "prompt") -> None:
        """Raise ContextOverflowError unless the prompt leaves room for one token."""
        if n_prompt >= self.n_ctx:
            raise ContextOverflowError(n_prompt, self.n_ctx, what)

    def reset(self) -> None:
        """Forget the KV cache, so the next call evaluates its whole prompt afresh."""
        self._llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        self._llm.reset()
        self._batch_prefix = 0

    # ---- generation ---------------------------------------------------------------

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

        def run() -> Iterator[TokenEvent]:
            matcher = StopMatcher(params.stop)
            inner = self._events(ids, params, seed, top, probs, sampled, cancel, state)
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
                tokens=state["count"],
                prompt_tokens=len(ids),
                finish_reason=state["finish"],
                seed=seed,
                model=self.model_name,
                elapsed_s=time.perf_counter() - start,
                time_to_first_token_s=state["first"],
                text="".join(e.text for e in events),
                events=tuple(events),
                cached_tokens=state["cached"],
            )

        return Stream(run(), finish)

    def _events(
        self,
        ids: list[int],
        params: SamplingParams,
        seed: int,
        top: int,
        probs: bool,
        sampled: bool,
        cancel: CancelCheck | None,
        state: dict,
    ) -> Iterator[TokenEvent]:
        llm = self._llm
        llm.set_seed(seed)
        utf8 = Utf8Stream()
        budget = min(params.max_tokens, self.n_ctx - len(ids))
        state["cached"] = self.cached_prefix(ids)
        if state["cached"] < self._batch_prefix:  # generate() rewrites past the cached part
            self._batch_prefix = 0
        t0 = time.perf_counter()
        gen = llm.generate(
            ids,
            top_k=params.top_k,
            top_p=params.top_p,
            min_p=params.min_p,
            temp=params.temperature,
            repeat_penalty=params.repeat_penalty,
            presence_penalty=params.presence_penalty,
            frequency_penalty=params.frequency_penalty,
        )
        try:
            for token in gen:
                if state["first"] is None:
                    state["first"] = time.perf_counter() - t0
                if self.is_end(token):
                    state["finish"] = "stop"
                    break
                state["count"] += 1
                data = self.piece(token)
                event = TokenEvent(id=token, bytes=data, text=utf8.feed(data))
                if probs or sampled:
                    event = self._with_probs(event, params, top, probs, sampled)
                yield event
                if state["count"] >= budget:
                    state["finish"] = "length" if budget == params.max_tokens else "context"
                    break
                if cancel is not None and cancel():
                    state["finish"] = "cancelled"
                    break
        finally:
            gen.close()
        tail = utf8.finish()
        if tail:
            yield TokenEvent(id=-1, bytes=b"", text=tail)

    def _last_logits(self) -> np.ndarray:
        """A numpy view (no copy) of the logits at the last decoded position."""
        ptr = self._lc.llama_get_logits_ith(self._llm._ctx.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def _alts(self, pairs: list[tuple[int, float]]) -> tuple[Alternative, ...]:
        return tuple(Alternative(i, self.piece(i), lp) for i, lp in pairs)

    def _with_probs(
        self, event: TokenEvent, params: SamplingParams, top: int, probs: bool, sampled: bool
    ) -> TokenEvent:
        logits = self._last_logits()
        logprob, alts, s_lp, s_top = None, (), None, ()
        if probs:
            lp, pairs = self._reader.read(logits, event.id, top)
            logprob, alts = lp, self._alts(pairs)
        if sampled:
            ids, lps = sampled_distribution(logits, params)
            where = np.flatnonzero(ids == event.id)
            s_lp = float(lps[where[0]]) if where.size else None
            s_top = self._alts([(int(i), float(v)) for i, v in zip(ids[:top], lps[:top])])
        return TokenEvent(
            id=event.id,
            bytes=event.bytes,
            text=event.text,
            logprob=logprob,
            top=alts,
            sampled_logprob=s_lp,
            sampled_top=s_top,
        )

    # ---- scoring ------------------------------------------------------------------

    def score(self, context: str, continuation: str, *, top: int = 0) -> list[ScoredToken]:
        """Log-probability of each token of ``continuation`` after ``context``."""
        ctx_ids = self.tokenize(context) if context else [self._llm.token_bos()]
        return self.score_tokens(ctx_ids, self.tokenize(continuation, add_bos=False), top=top)

    def score_tokens(
        self, context: list[int], continuation: list[int], *, top: int = 0
    ) -> list[ScoredToken]:
        """Score ``continuation`` token by token, reusing the KV cache for a shared prefix."""
        if not context:
            raise ValueError("score_tokens needs at least one context token (e.g. BOS)")
        ids = list(context) + list(continuation)
        self.check_fits(len(ids), "text to score")
        first_needed = len(context) - 1  # the position whose logits predict continuation[0]
        n_past = self._reuse_prefix(ids, limit=first_needed)
        out: list[ScoredToken] = []
        # Positions before the first needed one only fill the cache; no logits kept.
        if n_past < first_needed:
            self._decode(ids[n_past:first_needed], n_past, want_logits=False)
            n_past = first_needed
        for start in range(n_past, len(ids) - 1, SCORE_CHUNK):
            chunk = ids[start : min(start + SCORE_CHUNK, len(ids) - 1)]
            rows = self._decode(chunk, start, want_logits=True)
            lsm = log_softmax(rows)
            for row, pos in enumerate(range(start, start + len(chunk))):
                nxt = ids[pos + 1]
                if pos + 1 < len(context):
                    continue
                alts: tuple[Alternative, ...] = ()
                if top:
                    best = LogitReader.top_ids(rows[row], top)
                    alts = self._alts([(int(i), float(lsm[row, i])) for i in best])
                out.append(ScoredToken(nxt, self.piece(nxt), float(lsm[row, nxt]), alts))
        # the final token needs no logits, but it belongs in the cache for the next call
        self._decode(ids[-1:], len(ids) - 1, want_logits=False)
        return out

    def score_choices(
        self, context: list[int], choices: list[list[int]], *, prefix: int = 0
    ) -> list[list[ScoredToken]]:
        """Score several continuations of one context, decoding the context only once.

        The context's last logits score every choice's first token; a longer choice adds
        only its own tokens, which are dropped again, so the cache ends on the context.
        With ``prefix``, the first ``prefix`` tokens are one batch (kept in or taken from
        the cache) and the rest another, whatever the cache held before: llama.cpp rounds
        differently per batch shape, so this makes the scores independent of call order.
        """
        if not context:
            raise ValueError("score_choices needs at least one context token (e.g. BOS)")
        self.check_fits(len(context) + max((len(c) for c in choices), default=0), "text to score")
        prefix = min(prefix, len(context) - 1)
        n_past = self._reuse_prefix(context, limit=prefix or len(context) - 1)
        if prefix and (n_past < prefix or self._batch_prefix != prefix):
            # cached positions decoded in another batch shape would round differently
            self._reuse_prefix(context, limit=0)
            self._decode(context[:prefix], 0, want_logits=False)
            self._batch_prefix = n_past = prefix
        # the last token of a decode batch always gets logits, so no row is asked for
        self._decode(context[n_past:], n_past, want_logits=False)
        first = log_softmax(self._last_logits())
        out = []
        for choice in choices:
            scored = [ScoredToken(t, self.piece(t), float(first[t])) for t in choice[:1]]
            if len(choice) > 1:
                lsm = log_softmax(self._decode(choice[:-1], len(context), want_logits=True))
                scored += [
                    ScoredToken(t, self.piece(t), float(lsm[i, t]))
                    for i, t in enumerate(choice[1:])
                ]
                self._llm._ctx.kv_cache_seq_rm(-1, len(context), -1)
                self._llm.n_tokens = len(context)
            out.append(scored)
        return out

    def _shared_prefix(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` the KV cache already holds."""
        llm = self._llm
        n = 0
        for a, b in zip(llm.input_ids[: llm.n_tokens], ids):
            if a != b:
                break
            n += 1
        return n

    def _reuse_prefix(self, ids: list[int], limit: int) -> int:
        """Keep the cached positions shared with ``ids`` and drop the rest; return their count."""
        llm = self._llm
        n = min(self._shared_prefix(ids), limit)
        if not self._llm._ctx.kv_cache_seq_rm(-1, n, -1):
            n = 0
            self._llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        llm.n_tokens = n
        self.last_prefix_reused = n
        if n < self._batch_prefix:  # cut inside that batch: it is no longer one batch of n
            self._batch_prefix = 0
        if n < self._batch_prefix:
            self._batch_prefix = 0
        return n

    def _decode(self, tokens: list[int], n_past: int, want_logits: bool) -> np.ndarray:
        """Decode tokens at ``n_past`` (in batches); return their logits rows if asked."""
        llm = self._llm
        rows = []
        step = SCORE_CHUNK if want_logits else llm.n_batch
        for i in range(0, len(tokens), step):
            part = tokens[i : i + step]
            llm._batch.set_batch(batch=part, n_past=n_past + i, logits_all=want_logits)
            llm._ctx.decode(llm._batch)
            llm.input_ids[n_past + i : n_past + i + len(part)] = part
            llm.n_tokens = n_past + i + len(part)
            if want_logits:
                ptr = self._lc.llama_get_logits(llm._ctx.ctx)
                rows.append(np.ctypeslib.as_array(ptr, shape=(len(part), self.n_vocab)).copy())
        # Logits now belong to a scoring batch, not to a live generation step.
        llm._requires_eval = True
        return np.concatenate(rows) if rows else np.empty((0, self.n_vocab), np.float32)
