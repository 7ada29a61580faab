"""Writing JSON for people and programs: one strict, key-free form for every ``--json``."""

from __future__ import annotations

import json
import math

from gptplay.secrets import redacted


def _finite(value: object) -> object:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_line(record: object, indent: int | None = None) -> str:
    """A record as every ``--json`` output and results file writes it: strict JSON (a
    non-finite number, such as the log-probability of a probability-0 token, is null) with
    API keys and URL credentials masked."""
    clean = _finite(redacted(record))
    return json.dumps(clean, ensure_ascii=False, allow_nan=False, indent=indent, default=list)
