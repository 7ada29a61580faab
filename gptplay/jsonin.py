"""Reading JSON from users' files: every way the standard reader fails becomes one reason.

``json.loads`` raises RecursionError on deep nesting, ValueError on an integer of more than
4,300 digits, and accepts lone surrogates (``"\\ud800"``) that no UTF-8 text can hold. Here
each is a JsonProblem with a readable reason (and a line and column where one is known).
"""

from __future__ import annotations

import json
import sys


class JsonProblem(Exception):
    """Why a JSON text cannot be used, and where when that is known."""

    def __init__(self, reason: str, line: int | None = None, col: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line
        self.col = col


def loads(text: str) -> object:
    """The JSON value of text, or a JsonProblem."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(exc.msg, exc.lineno, exc.colno) from None
    except RecursionError:
        raise JsonProblem(
            f"nested too deeply (Python's JSON reader stops at about "
            f"{sys.getrecursionlimit()} levels)"
        ) from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion"
        raise JsonProblem(f"a number too long to read ({exc})") from None
    where = _surrogate(value)
    if where is not None:
        raise JsonProblem(f"{where} holds a lone surrogate (\\ud800-\\udfff), which is not text")
    return value


def _surrogate(value: object) -> str | None:
    """Where the first string holding a lone surrogate is (``messages[3].content``), if any."""
    stack: list[tuple[str, object]] = [("the value", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return where
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not _encodable(key):
                    return f"a key in {where}"
                stack.append((key if where == "the value" else f"{where}.{key}", sub))
        elif isinstance(item, list):
            stack.extend(
                (f"{'' if where == 'the value' else where}[{i}]", sub) for i, sub in enumerate(item)
            )
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
