"""Placeholders in prompt text: `{name}` fills a field or variable, `{{` and `}}` are braces."""

from __future__ import annotations

import re
from collections.abc import Mapping

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|\{|\}")


class TemplateSyntaxError(ValueError):
    """A placeholder that is not `{identifier}`, or a lone brace."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def parse(text: str) -> list[str | tuple[str]]:
    """Split text into literal strings and 1-tuples naming a placeholder."""
    parts: list[str | tuple[str]] = []
    literal: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        literal.append(text[pos : m.start()])
        pos = m.end()
        tok = m.group(0)
        if tok in ("{{", "}}"):
            literal.append(tok[0])
        elif tok in ("{", "}"):
            raise TemplateSyntaxError(
                f"a lone '{tok}' (write '{tok}{tok}' for a literal brace)", m.start()
            )
        else:
            name = m.group(1)
            if not _NAME.match(name):
                raise TemplateSyntaxError(
                    f"'{{{name}}}' is not a placeholder: use {{name}} with letters, digits "
                    "and '_' (write '{{' for a literal brace)",
                    m.start(),
                )
            parts.append("".join(literal))
            literal = []
            parts.append((name,))
    literal.append(text[pos:])
    parts.append("".join(literal))
    return [p for p in parts if p != ""]


def placeholders(text: str) -> list[str]:
    """The placeholder names in text, in order of first appearance."""
    seen: dict[str, None] = {}
    for part in parse(text):
        if isinstance(part, tuple):
            seen.setdefault(part[0], None)
    return list(seen)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill every placeholder from values (a KeyError names one that is missing)."""
    out = []
    for part in parse(text):
        out.append(values[part[0]] if isinstance(part, tuple) else part)
    return "".join(out)


def split_at(text: str, name: str) -> tuple[str, str]:
    """The raw template text before and after the first `{name}` placeholder."""
    for m in _TOKEN.finditer(text):
        if m.group(1) == name:
            return text[: m.start()], text[m.end() :]
    raise KeyError(name)
