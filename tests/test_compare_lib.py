"""The compare library on its own: crossing axes, run order, divergence, summary numbers."""

from __future__ import annotations

import math

import pytest

from gptplay.compare import (
    Axis,
    Variant,
    VariantResult,
    cross,
    divergence,
    label_of,
    parse_list,
    perplexity,
    run_order,
)
from gptplay.engine.types import Alternative, Completion, SamplingParams, TokenEvent
from gptplay.errors import UsageError


def test_cross_varies_the_first_axis_slowest_and_labels_only_what_varies():
    axes = [Axis("shots", (0, 3)), Axis("temperature", (0.0, 0.8)), Axis("sample", (1,))]
    combos = cross(axes)
    assert [(c["shots"], c["temperature"]) for c in combos] == [
        (0, 0.0),
        (0, 0.8),
        (3, 0.0),
        (3, 0.8),
    ]
    assert [label_of(c, axes) for c in combos][1] == "zero-shot · t=0.8"
    assert label_of({"var:lang": "fr"}, [Axis("var:lang", ("fr",))]) == "lang=fr"


def test_parse_list_reads_numbers_and_names_the_flag():
    assert parse_list("--top-p", "0.5, 0.95", float) == (0.5, 0.95)
    with pytest.raises(UsageError, match="--top-k '1,a': 'a' is not one of the whole numbers"):
        parse_list("--top-k", "1,a", int)


def test_run_order_groups_models_and_sorts_prompts_by_their_tokens():
    p = SamplingParams()
    variants = [Variant(i, {}, "", p, m) for i, m in enumerate(["b", "a", "b", "a"])]
    ids = [[1, 5], [1, 2, 3], [1, 2], [1, 2, 4]]
    # model "b" was seen first; within a model, [1, 2] < [1, 5] and [1, 2, 3] < [1, 2, 4]
    assert run_order(variants, ids) == [2, 0, 1, 3]


def event(data: bytes, lp: float, alts: dict[bytes, float] | None = None, tid: int = 0):
    top = tuple(Alternative(tid, b, v) for b, v in (alts or {data: lp}).items())
    return TokenEvent(tid, data, data.decode(), lp, top)


def result(model: str, *events: TokenEvent) -> VariantResult:
    completion = Completion(len(events), 3, "stop", 1, model, 1.0, 0.1, events=events)
    return VariantResult(Variant(0, {}, "", SamplingParams()), [1, 2, 3], completion, model=model)


def test_divergence_reads_both_choices_from_the_top_alternatives_across_models():
    a = result("m1", event(b"Le", -0.1), event(b" chat", -0.2, {b" chat": -0.2, b" chien": -1.8}))
    b = result("m2", event(b"Le", -0.3), event(b" chien", -0.9, {b" chien": -0.9}))
    div = divergence([a, b])  # no engine: nothing outside the top alternatives is scored
    assert (div.position, div.common, div.choices) == (1, "Le", (b" chat", b" chien"))
    assert div.taken == (0, 1)
    assert div.logprobs == ((-0.2, -1.8), (None, -0.9))
    assert a.mean_logprob == pytest.approx(-0.15)
    assert perplexity(-0.15) == pytest.approx(math.exp(0.15))


def test_no_divergence_for_one_variant_or_identical_outputs():
    a = result("m", event(b"x", -0.1))
    assert divergence([a]) is None
    assert divergence([a, result("m", event(b"x", -0.1))]) is None
