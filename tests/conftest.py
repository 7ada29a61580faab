"""Shared fixtures: user directories point at temporary paths; one real model per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


MODEL_FIXTURES = {"model_path", "engine", "reference"}


def pytest_collection_modifyitems(config, items) -> None:
    """Every test that loads the real model must say so with @pytest.mark.model."""
    unmarked = [
        item.nodeid
        for item in items
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("model") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests load the real model but lack @pytest.mark.model: " + ", ".join(unmarked)
        )


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One cache (the assembled embedded model) for the whole session, never the user's."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, cache_dir, monkeypatch) -> Path:
    """Point every user directory at temporary paths so tests never touch real ones."""
    config = tmp_path / "config"
    monkeypatch.setenv("GPTPLAY_CONFIG_DIR", str(config))
    monkeypatch.setenv("GPTPLAY_CACHE_DIR", str(cache_dir))
    monkeypatch.setenv("GPTPLAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GPTPLAY_LIBRARY", raising=False)
    return config


@pytest.fixture(scope="session")
def model_path(cache_dir) -> Path:
    os.environ["GPTPLAY_CACHE_DIR"] = str(cache_dir)
    from gptplay.models import embedded_model_path

    return embedded_model_path()


@pytest.fixture(scope="session")
def engine(model_path):
    """The real embedded model through gptplay's engine."""
    from gptplay.engine.llama import LlamaEngine

    return LlamaEngine(model_path, n_ctx=2048)


@pytest.fixture(scope="session")
def reference(model_path):
    """llama-cpp-python on its own, keeping every position's logits: an independent check."""
    import llama_cpp

    return llama_cpp.Llama(model_path=str(model_path), n_ctx=512, logits_all=True, verbose=False)


def reference_logprobs(reference, ids: list[int], first: int) -> list:
    """Log-softmax rows of positions first..len(ids)-1 from llama-cpp-python on its own.

    One decode of ``ids`` through its low-level API, padded to a multiple of 4 rows with
    throwaway tokens placed after them on the same sequence (removed again), where the
    engine pads on a sequence of its own: llama.cpp's CPU kernels round a row differently
    when it falls outside a group of four, and padded rows compute the same logits in any
    layout (engine/kvcache.py), so this checks the engine's packing as well.
    """
    import llama_cpp as lc
    import numpy as np

    from gptplay.engine.probs import log_softmax

    n = len(ids)
    pad = -n % 4
    assert n + pad <= 512, "the reference decodes one batch of at most 512 rows"
    mem = lc.llama_get_memory(reference.ctx)
    lc.llama_memory_clear(mem, True)
    batch = lc.llama_batch_init(n + pad, 0, 1)
    try:
        for i, tok in enumerate(ids + [ids[0]] * pad):
            batch.token[i], batch.pos[i], batch.n_seq_id[i] = tok, i, 1
            batch.seq_id[i][0] = 0
            batch.logits[i] = first <= i < n
        batch.n_tokens = n + pad
        assert lc.llama_decode(reference.ctx, batch) == 0
        vocab = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(reference.model))
        rows = [
            np.ctypeslib.as_array(lc.llama_get_logits_ith(reference.ctx, i), shape=(vocab,))
            for i in range(first, n)
        ]
        return list(log_softmax(np.stack(rows)))
    finally:
        lc.llama_batch_free(batch)
        lc.llama_memory_clear(mem, True)
        reference.reset()


def run_cli(
    *args: str, input: str | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real `gptplay` in a subprocess, as a user would."""
    full_env = {**os.environ, "COLUMNS": "120", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gptplay", *args],
        input=input,
        text=True,
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )
