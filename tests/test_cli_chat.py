"""`gptplay chat` as a user meets it: the real REPL in a pseudo-terminal, and piped input."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest

from gptplay.engine.kvcache import CHUNK
from tests.conftest import run_cli

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
STATS = r"tokens · [\d.]+ tok/s"


class Term:
    """A pexpect child with ANSI codes stripped from what it printed."""

    def __init__(self, *args: str, cwd) -> None:
        import pexpect

        env = {**os.environ, "TERM": "xterm", "COLUMNS": "160", "LINES": "50"}
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "gptplay", "chat", *args],
            env=env,
            cwd=str(cwd),
            encoding="utf-8",
            timeout=120,
            dimensions=(50, 160),
        )
        self.seen = ""

    def expect(self, pattern: str) -> str:
        """Wait for ``pattern`` in the cleaned output; returns the text up to and with it."""
        import pexpect

        while True:
            m = re.search(pattern, self.seen)
            if m:
                before, self.seen = self.seen[: m.end()], self.seen[m.end() :]
                return before
            try:
                chunk = self.child.read_nonblocking(4096, timeout=120)
            except pexpect.EOF:
                raise AssertionError(
                    f"chat exited before {pattern!r}; it printed {self.seen!r}"
                ) from None
            self.seen += ANSI.sub("", chunk)

    def line(self, text: str) -> None:
        self.child.sendline(text)

    def prompt(self) -> None:
        self.expect(r"(?m)^> ")

    def say(self, text: str) -> str:
        """Send a message or command; returns what was printed until the next prompt."""
        self.line(text)
        return self.expect(r"(?m)^> ")


@pytest.mark.model
def test_the_repl_end_to_end(tmp_path):
    t = Term("--temperature", "0", "--max-tokens", "24", "--ctx", "1024", cwd=tmp_path)
    t.expect("gemma-3-270m")
    t.prompt()
    first = t.say("What is the capital of France?")
    assert re.search(STATS, first) and "(0 cached)" in first
    first_prompt = int(re.search(r"prompt (\d+) tokens", first).group(1))
    second = t.say("And what is the capital of Spain?")
    cached = int(re.search(r"\((\d+) cached\)", second).group(1))
    # the scaffold and the first turn came from the KV cache up to its last chunk boundary
    assert cached == first_prompt - first_prompt % CHUNK > 0

    shown = t.say("/show-prompt")
    assert "User: What is the capital of France?\nAssistant:" in shown
    assert "User: And what is the capital of Spain?\nAssistant:" in shown
    assert "The following is a conversation with Assistant" in shown

    assert "removed 2 message(s)" in t.say("/undo")
    shown = t.say("/show-prompt")
    assert "Spain" not in shown and "France" in shown

    # Ctrl-C mid-reply: a stop sequence that never comes and many tokens: it is still running
    t.say("/set max_tokens=400 stop=@@@")
    t.line("Tell me a long story about a dragon.")
    # First the terminal's echo of the line (a Ctrl-C before it is read would be one at
    # the prompt, which leaves), then some of the reply.
    t.expect(r"dragon\.\r?\n")
    t.expect(r"\w+ \w+ \w+")
    t.child.sendintr()
    stopped = t.expect(r"(?m)^> ")
    assert "interrupted: the partial reply is kept" in stopped and "[interrupted" not in stopped
    assert "· interrupted · seed" in stopped and "cancelled" not in stopped  # one word

    saved = t.say("/save talk.json")
    assert "saved 4 messages" in saved
    data = json.loads((tmp_path / "talk.json").read_text())
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"] * 2
    assert data["messages"][-1]["interrupted"] is True
    assert data["messages"][-2]["content"] == "Tell me a long story about a dragon."

    assert "conversation cleared" in t.say("/reset")
    assert "France" not in t.say("/show-prompt")
    loaded = t.say("/load talk.json")
    assert "loaded 4 messages" in loaded
    shown = t.say("/show-prompt")
    assert "User: What is the capital of France?" in shown and "dragon" in shown

    assert "unknown command /hlep" in (typo := t.say("/hlep")) and "did you mean /help?" in typo
    t.line("/exit")
    t.child.expect(__import__("pexpect").EOF)
    t.child.close()
    assert t.child.exitstatus == 0


def leave_with(t: Term, key: str) -> int:
    """Press Ctrl-C or Ctrl-D at the prompt until the chat exits; its exit status.

    A key typed while readline switches the terminal's mode can be discarded by the
    terminal (on a loaded machine this happened), so the key is pressed again if needed.
    """
    import pexpect

    for _ in range(6):
        t.child.sendintr() if key == "c" else t.child.sendeof()
        if t.child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=10) == 0:
            t.child.close()
            return t.child.exitstatus
    raise AssertionError(f"Ctrl-{key.upper()} at the prompt did not leave the chat")


@pytest.mark.model
def test_ctrl_d_and_ctrl_c_at_the_prompt_leave(tmp_path):
    for key in ("c", "d"):
        t = Term("--max-tokens", "4", cwd=tmp_path)
        t.prompt()
        assert leave_with(t, key) == 0


@pytest.mark.model
def test_piped_input_is_one_message_and_the_reply_is_printed():
    r = run_cli("chat", "-t", "0", "-n", "24", input="What is the capital of France?\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() and not r.stdout.startswith(" ")
    assert "finish:" in r.stderr


@pytest.mark.model
def test_piped_input_as_json_lines():
    r = run_cli("chat", "--json", "-t", "0", "-n", "16", input="Hello, who are you?")
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in r.stdout.splitlines()]
    prompt, tokens, summary = records[0], records[1:-1], records[-1]
    assert prompt["type"] == "prompt" and prompt["text"].endswith(
        "User: Hello, who are you?\nAssistant:"
    )
    assert tokens and all(t["type"] == "token" and t["top"] for t in tokens)
    assert summary["type"] == "summary"
    assert summary["text"] == "".join(t["text"] for t in tokens)


@pytest.mark.model
def test_bad_input_is_one_line_and_no_traceback(tmp_path):
    r = run_cli("chat", "--json", input="")
    assert r.returncode == 2 and "standard input is empty" in r.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "gptplay-chat", "version": 1, "messages": [')
    r = run_cli("chat", "--load", str(bad), input="hi")
    assert r.returncode == 1 and "bad.json:1:" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("chat", "--template", "translate", input="hi")
    assert r.returncode != 0 and "not a dialogue scaffold" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.model
def test_a_long_saved_conversation_is_trimmed_to_the_context(tmp_path):
    """Oldest exchanges go, the scaffold stays, and the user is told."""
    turns = []
    for n in range(12):
        turns.append({"role": "user", "content": f"Question {n}: tell me about the number {n}."})
        turns.append({"role": "assistant", "content": f"The number {n} is a fine number. " * 3})
    path = tmp_path / "long.json"
    path.write_text(json.dumps({"format": "gptplay-chat", "version": 1, "messages": turns}))
    args = ("chat", "--load", str(path), "--ctx", "600", "-n", "8", "-t", "0")
    r = run_cli(*args, input="And the number 99?")
    assert r.returncode == 0, r.stderr
    assert re.search(r"dropped the \d+ oldest messages to fit the 600-token context", r.stderr)
    r = run_cli(*args, "--json", input="And the number 99?")
    prompt = json.loads(r.stdout.splitlines()[0])
    assert prompt["dropped_messages"] > 0 and prompt["prompt_tokens"] <= 600 - 8
    assert prompt["text"].startswith("The following is a conversation with Assistant")
    assert "Question 0:" not in prompt["text"] and "Question 11:" in prompt["text"]
    assert prompt["text"].endswith("User: And the number 99?\nAssistant:")
