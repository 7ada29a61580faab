"""The one-way flow of the code: nothing below the front ends imports them, one error printer."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "gptplay"
FRONT_ENDS = {"cli": ("cli",), "tui": ("tui", "cli/tui.py")}


def sources():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(PACKAGE).as_posix(), path.read_text(encoding="utf-8")


def test_nothing_below_the_front_ends_imports_them():
    upward = []
    for rel, text in sources():
        if rel == "__main__.py":
            continue
        for front, allowed in FRONT_ENDS.items():
            if rel.startswith(allowed):
                continue
            if re.search(rf"^\s*(from|import) gptplay\.{front}\b", text, re.M):
                upward.append(f"{rel} imports gptplay.{front}")
    assert upward == []


def test_errors_are_drawn_by_one_function():
    printers = [rel for rel, text in sources() if re.search(r"""["']error: ?["'\[]""", text)]
    printers += [rel for rel, text in sources() if "[bold red]error" in text]
    assert printers == ["render.py"]


def test_the_dropped_messages_notice_is_written_once():
    assert [rel for rel, text in sources() if "oldest messages to fit" in text] == ["chat/slash.py"]
