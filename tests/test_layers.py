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


# The bottom layers, and what of gptplay's each may import (lazy imports in functions count).
BOTTOM = {
    "settings/": ("gptplay.errors", "gptplay.settings"),
    "errors.py": (),
    "fileio.py": ("gptplay.errors",),
    "paths.py": ("gptplay.errors",),
}


def test_settings_is_a_bottom_layer():
    """settings/ imports nothing of gptplay's above it, so config and engine can both use it."""
    upward = []
    for rel, text in sources():
        allowed = next((ok for prefix, ok in BOTTOM.items() if rel.startswith(prefix)), None)
        if allowed is None:
            continue
        for name in re.findall(r"^\s*(?:from|import) (gptplay[\w.]*)", text, re.M):
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                upward.append(f"{rel} imports {name}")
    assert upward == []


def test_the_settings_circle_is_gone():
    """config -> settings and engine -> settings, never back (the old circle through unescape)."""
    import subprocess
    import sys

    code = (
        "import sys, gptplay.settings; "
        "print(sorted(m for m in sys.modules if m.startswith('gptplay.') "
        "and not m.startswith(('gptplay.settings', 'gptplay.errors'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_package_is_listed_for_the_wheel():
    """`pip install .` (the README's main command) ships only the packages pyproject lists."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(root).parts) for p in (root / "gptplay").rglob("__init__.py")
    }
    assert found - listed == set()
