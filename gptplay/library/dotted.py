"""Find a dotted key of too many parts in TOML text, in one pass, before a parser sees it.

The standard TOML reader takes minutes on a key of 100,000 dotted parts. A regular
expression that searches for such a chain from every position is itself quadratic (one
100,000-character word is tried from each of its letters), so the text is split into
tokens once, left to right, and the parts of each chain counted as it goes.
"""

from __future__ import annotations

import re

# No alternative can fail after scanning ahead (a string not closed on its line ends
# there), so no text is scanned twice: the pass is linear whatever the text.
_TOKEN = re.compile(
    r"""(?P<seg>[A-Za-z0-9_\-]+|"(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?)"""
    r"""|(?P<dot>\.)|(?P<space>[ \t]+)|(?P<other>[^A-Za-z0-9_\-"'. \t]+)"""
)


def deep_dotted_key(text: str, limit: int) -> tuple[int, int] | None:
    """(parts, start offset) of the first chain of more than ``limit`` dotted parts, or None.

    A chain is segments (bare words, quoted strings) joined by dots, spaces and tabs around
    the dots allowed: keys, but also dotted words inside values, so a false alarm needs
    ``limit + 1`` of them in a row.
    """
    parts, start, after_dot = 0, 0, False
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "seg":
            if after_dot:
                parts += 1
            else:  # a segment that follows no dot starts a chain of its own
                if parts > limit:
                    return parts, start
                parts, start = 1, m.start()
            after_dot = False
        elif kind == "dot" and parts and not after_dot:
            after_dot = True
        else:
            if parts > limit:
                return parts, start
            parts, after_dot = 0, False
    return (parts, start) if parts > limit else None
