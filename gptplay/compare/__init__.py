"""Comparing variants of a prompt run side by side: no terminal code here.

- ``Axis(name, values)`` and ``cross(axes)``: the variants, one per combination of values;
  ``check_count(axes, limit)`` counts them first and refuses more than ``limit``.
- ``Variant(index, axes, prompt, params, model)``: what one variant runs.
- ``generate(variants, engine_for, top=...)`` runs them so that variants sharing a prompt
  prefix evaluate it once (the engine's KV cache keeps the longest shared prefix);
  ``score(variants, engine_for, continuations)`` scores fixed continuations instead.
- ``divergence(results, engine)``: the first token where the outputs part, with each
  variant's probability of every choice there.
"""

from gptplay.compare.diverge import Divergence, divergence
from gptplay.compare.run import VariantResult, generate, run_order, score
from gptplay.compare.stats import mean_logprob, perplexity
from gptplay.compare.variants import (
    Axis,
    Variant,
    check_count,
    cross,
    label_of,
    parse_list,
)

__all__ = [
    "Axis",
    "Divergence",
    "Variant",
    "VariantResult",
    "check_count",
    "cross",
    "divergence",
    "generate",
    "label_of",
    "mean_logprob",
    "parse_list",
    "perplexity",
    "run_order",
    "score",
]
