"""Loading a model: a broken chat template only matters to chat; Ctrl-C during the load stops it."""

from __future__ import annotations

import shutil
import signal
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.model

BROKEN = "{% for message in messages %}{{ message.content }}{% endfor"  # no closing %}


def with_chat_template(src: Path, dst: Path, template: str) -> Path:
    """A copy of a GGUF with one more key, ``tokenizer.chat_template``.

    The key goes first in the key/value section; it is padded to a multiple of 32 bytes
    so the tensor data keeps its alignment (GGUF aligns the data section to 32).
    """
    key = b"tokenizer.chat_template"
    value = template.encode()
    size = 8 + len(key) + 4 + 8 + len(value)
    value += b" " * (-size % 32)
    kv = struct.pack("<Q", len(key)) + key + struct.pack("<IQ", 8, len(value)) + value
    with src.open("rb") as fin, dst.open("wb") as fout:
        head = fin.read(24)  # magic, version, tensor count, key/value count
        assert head[:4] == b"GGUF"
        n_kv = struct.unpack_from("<Q", head, 16)[0]
        fout.write(head[:16] + struct.pack("<Q", n_kv + 1) + kv)
        shutil.copyfileobj(fin, fout, 1 << 22)
    return dst


@pytest.fixture(scope="module")
def broken_model(model_path, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("broken") / "broken-template.gguf"
    return with_chat_template(model_path, dst, BROKEN)


def test_a_broken_chat_template_does_not_stop_complete(broken_model):
    from gptplay.engine.llama import LlamaEngine
    from gptplay.engine.types import SamplingParams

    engine = LlamaEngine(broken_model, n_ctx=256)
    assert engine.chat_info().template.rstrip() == BROKEN  # read as text, not parsed
    done = engine.stream("The capital of France is", SamplingParams(max_tokens=3, seed=1)).run()
    assert done.tokens == 3
    proc = run_cli("complete", "Hello", "-n", "2", "--model", str(broken_model), "--seed", "1")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr


LOAD_UNDER_SIGINT = """
import os, signal, sys, threading, time
import llama_cpp  # loaded first: the timer then starts with llama.cpp's own loading
from gptplay.engine.llama import LlamaEngine

def fire():
    time.sleep({delay})
    os.kill(os.getpid(), signal.SIGINT)

threading.Thread(target=fire, daemon=True).start()
t0 = time.perf_counter()
try:
    LlamaEngine({path!r}, n_ctx=2048)
except KeyboardInterrupt:
    print("interrupted during load", time.perf_counter() - t0)
    sys.exit(130)
print("loaded", time.perf_counter() - t0)
try:
    time.sleep(2)
except KeyboardInterrupt:
    print("interrupted after load")
    sys.exit(3)
"""


@pytest.mark.parametrize("delay", [0.05, 0.15])
def test_ctrl_c_during_the_load_stops_it(model_path, delay):
    """A SIGINT while llama.cpp loads (and calls back into Python) is not lost.

    Before, it was raised inside the ctypes log callback, printed to a silenced stderr and
    dropped: the load went on and the command ran to the end with exit 0.
    """
    script = textwrap.dedent(LOAD_UNDER_SIGINT.format(delay=delay, path=str(model_path)))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    if "interrupted after load" in proc.stdout:
        pytest.skip(f"the load finished before {delay} s: nothing to interrupt")
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "interrupted during load" in proc.stdout
    assert "Exception ignored" not in proc.stderr


def test_deferred_signals_hand_the_signal_on_at_the_end():
    from gptplay.engine.loader import deferred_signals

    seen = []
    with pytest.raises(KeyboardInterrupt), deferred_signals() as interrupted:
        signal.raise_signal(signal.SIGINT)  # its handler only notes it
        seen.append(interrupted())
    assert seen == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_rate_watch_says_once_when_steps_stall():
    from gptplay.engine.threads import MIN_STEPS, RateWatch

    steady = RateWatch(threads=2)
    steady._steps = [0.025, 0.026, 0.024] * MIN_STEPS
    assert steady.notice() is None
    held = RateWatch(threads=2)
    held._steps = [0.025] * 3 + [0.5] * MIN_STEPS  # a busy core stalls most steps
    text = held.notice()
    assert text is not None and "--threads 1" in text and "threads = 1 in config.toml" in text
    assert "2.4 tok/s" in text and "40.0 tok/s" in text  # 19 steps in 8.075 s, as a summary says
    assert held.notice() is None  # once
    one = RateWatch(threads=1)
    one._steps = held._steps
    assert one.notice() is None  # one thread waits for nobody


def test_an_amx_build_is_recognised_from_llama_cpp_system_info():
    """The loader keeps weights out of AMX buffers only where llama.cpp was built with AMX."""
    from gptplay.engine.loader import amx_build

    class Lib:
        def __init__(self, info: bytes | None) -> None:
            self.info = info

        def llama_print_system_info(self) -> bytes | None:
            return self.info

    amx = b"CPU : SSE3 = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 | REPACK = 1 |"
    assert amx_build(Lib(amx))
    assert not amx_build(Lib(amx.replace(b"AMX_INT8 = 1", b"AMX_INT8 = 0")))
    assert not amx_build(Lib(b"CPU : NEON = 1 | ARM_FMA = 1 |"))
    assert not amx_build(Lib(None))
