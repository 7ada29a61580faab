"""The TUI in a real pseudo-terminal while a model loads the way llama-cpp-python loads one."""

from __future__ import annotations

import os
import sys

# llama-cpp-python points descriptors 1 and 2 at /dev/null while a model loads; Textual
# draws on 2. A slow load done the same way shows what a user saw.
SCRIPT = """
import time
from llama_cpp._utils import suppress_stdout_stderr
from gptplay.engine.fake import FakeEngine
from gptplay.tui import create_app

def slow_load(model):
    with suppress_stdout_stderr(disable=False):
        time.sleep(8)
    return FakeEngine()

create_app(slow_load, prompt="translate").run()
"""
RESTORE = "\x1b[?1049l"  # leave the alternate screen


def test_the_screen_draws_during_a_load_and_ctrl_q_then_exits_0_and_restores_it(tmp_path):
    import pexpect

    env = {**os.environ, "TERM": "xterm-256color"}
    child = pexpect.spawn(
        sys.executable,
        ["-c", SCRIPT],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        dimensions=(40, 140),
        timeout=30,
    )
    try:
        # drawn while the model loads: the status, and the query field's label
        child.expect("loading the model", timeout=6)
        child.expect("english", timeout=6)
        child.sendcontrol("q")
        child.expect(pexpect.EOF, timeout=30)
        after_quit = child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, (child.exitstatus, child.signalstatus)
    assert RESTORE in after_quit  # the terminal is back on its own screen
