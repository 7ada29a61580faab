"""The logit_bias setting: TEXT_OR_ID=BIAS entries, added to a token's logit before sampling.

Kept as strings (so it layers, prints and stores like any other list setting); parsed here,
once, into (key, bias) pairs. A key of digits alone is a token id, anything else the token's
text (kept exactly, leading space included: Gemma's ' positive' is one token). The engine
turns a text into its id, since only it has the vocabulary.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

MAX_BIAS = 100.0  # OpenAI's range; llama.cpp takes any float, but past this it is a ban or a typo
BAN_WORDS = ("ban", "-inf", "false")  # false: llama-server's own word for a ban


class BiasProblem(ValueError):
    """What is wrong with one entry, in one line."""


def parse_entry(entry: str) -> tuple[str | int, float]:
    """' positive=ban' -> (' positive', -inf); '1234=2.5' -> (1234, 2.5)."""
    key, sep, value = entry.rpartition("=")
    if not sep or not key:
        raise BiasProblem(f"{entry!r} is not TEXT_OR_ID=BIAS (like ' positive=5' or '1234=ban')")
    word = value.strip().lower()
    if word in BAN_WORDS:
        bias = -math.inf
    else:
        try:
            bias = float(word)
        except ValueError:
            raise BiasProblem(f"{entry!r}: the bias {value!r} is not a number or 'ban'") from None
        if not math.isfinite(bias) or abs(bias) > MAX_BIAS:
            raise BiasProblem(
                f"{entry!r}: the bias must be in [-{MAX_BIAS:g}, {MAX_BIAS:g}] or 'ban', "
                f"not {value}"
            )
    return (int(key) if key.isascii() and key.isdigit() else key), bias


def parse(entries: Iterable[str]) -> list[tuple[str | int, float]]:
    """Every entry parsed; a key given twice is a problem (which bias would win?)."""
    out: list[tuple[str | int, float]] = []
    seen: set[str | int] = set()
    for entry in entries:
        key, bias = parse_entry(entry)
        if key in seen:
            raise BiasProblem(f"the token {key!r} is given twice")
        seen.add(key)
        out.append((key, bias))
    return out


def from_table(table: Mapping[str, object]) -> tuple[str, ...]:
    """A TOML table ``{ " positive" = "ban", "1234" = 2.5 }`` as the setting's entries."""
    return tuple(f"{key}={value}" for key, value in table.items())
