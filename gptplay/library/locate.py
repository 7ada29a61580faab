"""Find where a key of a parsed TOML document was written, for `file:line:col` errors.

tomllib gives no positions, so this scans the source line by line: table headers,
arrays of tables and `key =` lines. It is a best effort: a path it cannot place falls
back to its nearest placed parent, then to line 1.
"""

from __future__ import annotations

import re

Path_ = tuple[str | int, ...]

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_ASSIGN = re.compile(rf"^(\s*)({_DOTTED})\s*=")
_PART = re.compile(_KEY)


def _keys(dotted: str) -> tuple[str, ...]:
    """The parts of a dotted key, unquoted."""
    out = []
    for m in _PART.finditer(dotted):
        part = m.group(0)
        if part[0] in "\"'":
            part = part[1:-1]
        out.append(part)
    return tuple(out)


def positions(source: str) -> dict[Path_, tuple[int, int]]:
    """Map each key path written in source to its (line, column), both 1-based."""
    found: dict[Path_, tuple[int, int]] = {}
    current: Path_ = ()
    counts: dict[tuple[str, ...], int] = {}
    in_multiline: str | None = None
    for lineno, line in enumerate(source.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            keys = _keys(header.group(2))
            if header.group(1) == "[[":
                index = counts.get(keys, 0)
                counts[keys] = index + 1
                current = (*keys, index)
            else:
                current = keys
            col = line.index("[") + 1
            found.setdefault(current, (lineno, col))
            found.setdefault(keys, (lineno, col))
            continue
        assign = _ASSIGN.match(line)
        if assign:
            path = (*current, *_keys(assign.group(2)))
            found.setdefault(path, (lineno, len(assign.group(1)) + 1))
        for quote in ('"""', "'''"):
            if line.count(quote) % 2 == 1:
                in_multiline = quote
                break
    return found


def locate(found: dict[Path_, tuple[int, int]], path: Path_) -> tuple[int, int]:
    """The position of path, or of its nearest written parent, or (1, 1)."""
    for end in range(len(path), 0, -1):
        if path[:end] in found:
            return found[path[:end]]
    return (1, 1)
