"""Text coming in from outside (standard input, arguments, files): UTF-8 or a clear refusal.

Bytes that are not UTF-8 are refused, never replaced: the error names the byte and where it
is, so the user can fix the input instead of prompting the model with U+FFFD.
"""

from __future__ import annotations

import sys

from gptplay.errors import UsageError

CONVERT_HINT = "convert it to UTF-8 first, e.g. iconv -f latin1 -t utf-8 FILE"


def bad_byte(raw: bytes, start: int) -> tuple[int, int, int]:
    """(line, column, byte value) of the undecodable byte at offset ``start``."""
    before = raw[:start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return line, column, raw[start]


def decode(raw: bytes, what: str) -> str:
    """Strict UTF-8 (a BOM is dropped), or a UsageError naming the byte and its offset."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col, byte = bad_byte(raw, exc.start)
        raise UsageError(
            f"{what} is not UTF-8 text: byte 0x{byte:02x} at offset {exc.start} "
            f"(line {line}, column {col}).",
            hint=CONVERT_HINT,
        ) from None


def read_stdin(what: str = "standard input") -> str:
    """All of standard input as text, checked as UTF-8."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text-only stream (an embedding program's)
        return checked(sys.stdin.read(), what)
    return decode(buffer.read(), what)


def checked(text: str, what: str) -> str:
    """text itself, or a UsageError if it holds a surrogate (an undecodable byte, a lone one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(text[exc.start])
        if 0xDC80 <= char <= 0xDCFF:  # an undecodable byte kept by surrogateescape
            where = f"byte 0x{char - 0xDC00:02x}"
        else:
            where = f"a lone surrogate U+{char:04X}"
        raise UsageError(
            f"{what} is not UTF-8 text: {where} at character {exc.start + 1}.",
            hint=CONVERT_HINT,
        ) from None
    return text
