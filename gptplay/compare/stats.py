"""Summary numbers of a variant's output: mean log-probability and perplexity."""

from __future__ import annotations

import math
from collections.abc import Iterable


def mean_logprob(logprobs: Iterable[float | None]) -> float | None:
    """The mean natural-log probability of the tokens that have one (None when none do)."""
    values = [lp for lp in logprobs if lp is not None]
    return sum(values) / len(values) if values else None


def perplexity(mean: float | None) -> float | None:
    """exp(-mean log-probability): how many equally likely tokens the model hesitated among."""
    return None if mean is None else math.exp(-mean)
