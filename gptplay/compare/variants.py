"""Variants along axes (shots, prompt, a variable, a sampling setting, model, sample), crossed."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError, excerpt
from gptplay.settings.schema import CONSTRAINTS


@dataclass(frozen=True)
class Axis:
    """One dimension of a comparison: a setting's name and the values it takes."""

    name: str
    values: Sequence  # a tuple, or a range for the samples (never built as a list)

    @property
    def varies(self) -> bool:
        return len(self.values) > 1


@dataclass(frozen=True)
class Variant:
    """One cell of the comparison: its axis values, the exact prompt and the settings."""

    index: int
    axes: Mapping[str, object]
    prompt: str
    params: SamplingParams
    model: str | None = None
    label: str = ""
    settings: Mapping[str, object] = field(default_factory=dict)


def cross(axes: Sequence[Axis]) -> list[dict[str, object]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    if not axes:
        return [{}]
    names = [a.name for a in axes]
    return [dict(zip(names, combo)) for combo in itertools.product(*(a.values for a in axes))]


def check_count(axes: Sequence[Axis], limit: int) -> int:
    """How many variants the axes cross to, counted from their lengths; refused over ``limit``.

    Counted before ``cross`` builds anything: 10,000 x 10,000 values are a number here, not
    100 million dictionaries.
    """
    n = math.prod(len(a.values) for a in axes)
    if n > limit:
        sizes = " x ".join(f"{len(a.values):,} {_plural(a.name)}" for a in axes if a.varies)
        raise UsageError(
            f"{n:,} variants ({sizes}) are more than the limit of {limit:,}.",
            hint="give fewer values, or raise the limit with --max-variants N.",
        )
    return n


def _plural(name: str) -> str:
    """An axis's name as the count of its values reads: 'tasks', 'shot counts', 'lang values'."""
    if name.startswith("var:"):
        return f"{name[4:]} values"
    return {"shots": "shot counts", "sample": "samples", "task": "tasks", "model": "models"}.get(
        name, f"{name.replace('_', '-')} values"
    )


def short(name: str, value: object) -> str:
    """One axis value as a column heading shows it: '3-shot', 't=0.8', 'lang=fr'."""
    if name == "shots":
        return {0: "zero-shot", 1: "one-shot"}.get(value, f"{value}-shot")
    if name == "temperature":
        return f"t={value:g}" if isinstance(value, float) else f"t={value}"
    if name in ("task", "model"):
        return str(value)
    if name == "sample":
        return f"sample {value}"
    if name.startswith("var:"):
        return f"{name[4:]}={value}"
    if name in CONSTRAINTS:
        return constraint_label(name, str(value))
    return f"{name.replace('_', '-')}={value}"


def constraint_label(name: str, typed: str) -> str:
    """A constraint axis value as typed, short: 'no grammar', 'grammar digits.gbnf'."""
    word = {"json_schema": "schema"}.get(name, name)
    text = typed.strip()
    if text.lower() == "none":
        return f"no {word}"
    if name != "choices" and "::=" not in text and not text.startswith("{"):
        text = Path(text).name  # a file: its name
    text = " ".join(text.split())
    return f"{word} {text if len(text) <= 24 else text[:23] + '…'}"


def label_of(values: Mapping[str, object], axes: Sequence[Axis]) -> str:
    """The label of a variant: only the axes that vary (all of them when none does)."""
    varying = [a for a in axes if a.varies] or list(axes)
    return " · ".join(short(a.name, values[a.name]) for a in varying) or "variant"


def parse_list(option: str, text: str, kind: Callable[[str], object]) -> tuple:
    """'0,1,3' as a tuple of values; a UsageError names the option and the bad value."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise UsageError(
                f"{option} {excerpt(text)} has an empty value.", hint=f"like {option} 0,0.8"
            )
        try:
            out.append(kind(part))
        except ValueError:
            want = "whole numbers" if kind is int else "numbers" if kind is float else "values"
            raise UsageError(
                f"{option} {excerpt(text)}: {excerpt(part)} is not one of the {want} it takes.",
                hint=f"a comma-separated list, like {option} {'0,1,3' if kind is int else '0,0.8'}",
            ) from None
    if len(set(out)) != len(out):
        again = (
            " (--samples N runs each variant N times, with N seeds)" if option[:2] == "--" else ""
        )
        raise UsageError(
            f"{option} {excerpt(text)} repeats a value.", hint=f"give each value once{again}."
        )
    return tuple(out)
