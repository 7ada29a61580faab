"""Ctrl+Q while the real model loads exits 0, every time (issue 22: once 132, SIGILL)."""

from __future__ import annotations

import os
import random
import sys
import time

import pytest

pytestmark = pytest.mark.model

TRIALS = 20


def spawn(tmp_path):
    import pexpect

    env = {**os.environ, "TERM": "xterm-256color"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "gptplay", "tui", "--no-history"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        dimensions=(40, 120),
        timeout=60,
    )


def test_ctrl_q_at_random_moments_of_the_model_load_exits_0_twenty_times(tmp_path):
    import pexpect

    child = spawn(tmp_path)  # first, how long the load takes on this machine now
    child.expect("loading the model", timeout=60)
    start = time.monotonic()
    child.expect("ready", timeout=60)
    window = time.monotonic() - start
    child.sendcontrol("q")
    child.expect(pexpect.EOF, timeout=60)
    child.close()
    assert child.exitstatus == 0
    rng = random.Random(22)
    statuses = []
    for _ in range(TRIALS):
        child = spawn(tmp_path)
        try:
            child.expect("loading the model", timeout=60)
            time.sleep(rng.uniform(0, window))
            child.sendcontrol("q")
            child.expect(pexpect.EOF, timeout=60)
        finally:
            child.close(force=True)
        statuses.append((child.exitstatus, child.signalstatus))
    assert statuses == [(0, None)] * TRIALS
