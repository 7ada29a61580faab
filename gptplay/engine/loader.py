"""Loading a GGUF into llama.cpp through the low-level bindings: model, context, vocabulary.

No ``llama_cpp.Llama``: its constructor also parses the model's chat template, so a GGUF
whose template has a syntax error could not even be used for ``complete``. Here only
``chat_info`` reads the template, as text; rendering it is chat's business.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gptplay.errors import ModelError

# Sequences one context can hold: batched scoring gives each label its own sequence.
N_SEQ_MAX = 32
N_BATCH = 512
# Signals whose Python handlers must not run inside a ctypes callback (they would be lost).
_DEFERRED = ("SIGINT", "SIGTERM", "SIGHUP")

_SILENT_CALLBACK = None
_BACKEND_READY = False


def silence_llama_log(lc) -> None:
    """Route llama.cpp's own log (which ignores verbose=False for some lines) to nowhere."""
    global _SILENT_CALLBACK
    if _SILENT_CALLBACK is None:
        # kept in a module global: ctypes callbacks must outlive the C side's use of them
        _SILENT_CALLBACK = lc.llama_log_callback(lambda level, text, user: None)
    lc.llama_log_set(_SILENT_CALLBACK, ctypes.c_void_p(0))


@contextmanager
def deferred_signals() -> Iterator[Callable[[], bool]]:
    """Hold SIGINT (and SIGTERM, SIGHUP where Python handles them) until the block ends.

    While llama.cpp loads a model it calls back into Python (its log, the progress
    callback). A KeyboardInterrupt raised inside a ctypes callback is printed and dropped,
    so a Ctrl-C there used to be ignored and the run went on. Here the handler only notes
    the signal; the yielded function tells the load to abort, and once the block ends the
    signal is handed to the handler it was meant for (KeyboardInterrupt for Ctrl-C).
    Outside the main thread (the TUI loads in a worker) signals never run there: no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    caught: list[int] = []
    saved: dict[int, object] = {}
    for name in _DEFERRED:
        num = getattr(signal, name, None)
        if num is None:
            continue
        old = signal.getsignal(num)
        if callable(old):
            saved[num] = old
            signal.signal(num, lambda signum, frame: caught.append(signum))
    try:
        yield lambda: bool(caught)
    finally:
        for num, old in saved.items():
            signal.signal(num, old)
        if caught:
            handler = saved[caught[0]]
            handler(caught[0], None)  # raises KeyboardInterrupt for SIGINT


@dataclass
class Loaded:
    """The raw llama.cpp handles of one load; LlamaEngine owns and frees them."""

    model: object
    ctx: object
    vocab: object
    n_ctx: int
    n_vocab: int
    n_layer: int
    threads: int

    def close(self, lc) -> None:
        if self.ctx is not None:
            lc.llama_free(self.ctx)
            self.ctx = None
        if self.model is not None:
            lc.llama_model_free(self.model)
            self.model = None


def load(lc, path: Path, *, n_ctx: int, threads: int, n_gpu_layers: int, verbose: bool) -> Loaded:
    """Load the model and make its context; raise ModelError naming the file on failure."""
    global _BACKEND_READY
    if not verbose:
        silence_llama_log(lc)
    if not _BACKEND_READY:
        lc.llama_backend_init()
        _BACKEND_READY = True
    try:
        return _load(lc, path, n_ctx, threads, n_gpu_layers)
    except _Interrupted:
        # the handler it was meant for did not raise (a custom one): stop here anyway
        raise KeyboardInterrupt from None


def amx_build(lc) -> bool:
    """Whether this llama.cpp was compiled with its AMX kernels (-march=native on Xeon 4th gen+)."""
    return b"AMX_INT8 = 1" in (lc.llama_print_system_info() or b"")


def _load(lc, path: Path, n_ctx: int, threads: int, n_gpu_layers: int) -> Loaded:
    with deferred_signals() as interrupted:
        progress = lc.llama_progress_callback(lambda p, user: not interrupted())
        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = 0x7FFFFFFF if n_gpu_layers < 0 else n_gpu_layers
        mparams.progress_callback = progress
        if amx_build(lc):
            # llama.cpp's AMX matmul segfaults on Q4_K weights (ggml-org/llama.cpp#20824, no
            # fix upstream): keep the weights in plain CPU buffers, so AMX is never used
            mparams.use_extra_bufts = False
        model = lc.llama_model_load_from_file(str(path).encode("utf-8"), mparams)
        if model is None or interrupted():
            if model is not None:
                lc.llama_model_free(model)
            if interrupted():
                return _interrupted()
            raise ModelError(
                f"{path}: llama.cpp could not load this model.",
                hint="the file may be truncated, corrupt or of an unsupported architecture; "
                "download it again or choose another model (--verbose shows llama.cpp's log).",
            )
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = cparams.n_ubatch = N_BATCH
        cparams.n_seq_max = N_SEQ_MAX
        cparams.n_threads = cparams.n_threads_batch = threads
        # A full-size sliding-window cache keeps every position, so a cached prefix stays
        # exact after the cache is trimmed (Gemma 3 uses SWA); one unified cache lets the
        # sequences of batched scoring share the prompt's cells instead of copying them.
        cparams.swa_full = True
        cparams.kv_unified = True
        cparams.no_perf = True
        # as llama-cpp-python's Llama (and so the old engine and the tests' reference):
        # flash attention off; on, scores move by ~0.005 nats
        cparams.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_DISABLED
        ctx = lc.llama_init_from_model(model, cparams)
        if ctx is None:
            lc.llama_model_free(model)
            if interrupted():
                return _interrupted()
            raise ModelError(
                f"{path}: llama.cpp could not make a context of {n_ctx} tokens for this model.",
                hint="try a smaller --ctx.",
            )
        if interrupted():
            lc.llama_free(ctx)
            lc.llama_model_free(model)
            _interrupted()
    vocab = lc.llama_model_get_vocab(model)
    return Loaded(
        model=model,
        ctx=ctx,
        vocab=vocab,
        n_ctx=int(lc.llama_n_ctx(ctx)),
        n_vocab=int(lc.llama_vocab_n_tokens(vocab)),
        n_layer=int(lc.llama_model_n_layer(model)),
        threads=threads,
    )


def _interrupted():
    """Leave the load: deferred_signals hands the signal on as the block ends."""
    raise _Interrupted


class _Interrupted(Exception):
    pass


def meta(lc, model, key: str) -> str | None:
    """One GGUF metadata value as text (None when the key is absent)."""
    size = 4096
    while True:
        buf = ctypes.create_string_buffer(size)
        n = lc.llama_model_meta_val_str(model, key.encode(), buf, size)
        if n < 0:
            return None
        if n < size:
            return buf.raw[:n].decode("utf-8", "replace")
        size = n + 1
