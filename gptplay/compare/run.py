"""Running variants: in an order that lets each reuse what the KV cache already holds.

The engine keeps the longest token prefix it shares with the previous call. Variants are
grouped by model (each model loaded once) and, within a model, run in the lexicographic
order of their prompt tokens: then each prompt's longest shared prefix with any other
prompt is shared with its neighbour, so a shared instruction and demonstrations are
evaluated once, and variants of one prompt (temperature, samples) evaluate none of it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gptplay.compare.stats import mean_logprob, perplexity
from gptplay.compare.variants import Variant
from gptplay.engine.base import CancelCheck, Engine
from gptplay.engine.types import Completion, ScoredToken, TokenEvent

EngineFor = Callable[[str | None], Engine]  # called once per model, in the order first seen
EventHook = Callable[[int, TokenEvent], None]  # (variant index, event) as each token arrives
StartHook = Callable[[int, list[int]], None]  # (variant index, prompt ids) before it streams
DoneHook = Callable[["VariantResult", Engine], None]  # each result, with the engine it ran on


@dataclass
class VariantResult:
    """What one variant produced: a completion, or the scores of fixed continuations."""

    variant: Variant
    prompt_ids: list[int]
    completion: Completion | None = None
    scores: tuple[tuple[ScoredToken, ...], ...] = ()
    model: str = ""

    @property
    def events(self) -> list[TokenEvent]:
        """The generated tokens (a UTF-8 tail event, id -1, is not a token)."""
        return [e for e in self.completion.events if e.id >= 0] if self.completion else []

    @property
    def mean_logprob(self) -> float | None:
        return mean_logprob(e.logprob for e in self.events)

    @property
    def perplexity(self) -> float | None:
        return perplexity(self.mean_logprob)


def run_order(variants: Sequence[Variant], ids: Sequence[Sequence[int]]) -> list[int]:
    """Indices of the variants in the order to run them: by model, then by prompt tokens."""
    first_seen: dict[str | None, int] = {}
    for v in variants:
        first_seen.setdefault(v.model, len(first_seen))
    return sorted(range(len(variants)), key=lambda i: (first_seen[variants[i].model], ids[i]))


def _by_model(variants: Sequence[Variant], engine_for: EngineFor):
    """(engine, [(position, variant, prompt ids)] in run order) for each model in turn."""
    models: list[str | None] = []
    for v in variants:
        if v.model not in models:
            models.append(v.model)
    for model in models:
        engine = engine_for(model)
        group = [(i, v) for i, v in enumerate(variants) if v.model == model]
        ids = [engine.tokenize(v.prompt) for _, v in group]
        order = run_order([v for _, v in group], ids)
        yield engine, [(group[k][0], group[k][1], ids[k]) for k in order]
        engine = None  # let this model go before the next one loads


def generate(
    variants: Sequence[Variant],
    engine_for: EngineFor,
    *,
    top: int = 5,
    on_start: StartHook | None = None,
    on_event: EventHook | None = None,
    on_done: DoneHook | None = None,
    cancel: CancelCheck | None = None,
) -> list[VariantResult]:
    """Stream every variant (one at a time: one KV cache); results in the variants' order."""
    results: list[VariantResult | None] = [None] * len(variants)
    for engine, planned in _by_model(variants, engine_for):
        for pos, variant, ids in planned:
            if cancel is not None and cancel():
                break
            if on_start is not None:
                on_start(pos, ids)
            stream = engine.stream(ids, variant.params, top=top, cancel=cancel)
            for event in stream:
                if on_event is not None:
                    on_event(pos, event)
            results[pos] = VariantResult(variant, ids, stream.completion, model=engine.model_name)
            if on_done is not None:
                on_done(results[pos], engine)
    return [r for r in results if r is not None]


def score(
    variants: Sequence[Variant],
    engine_for: EngineFor,
    continuations: Sequence[str],
    on_done: DoneHook | None = None,
) -> list[VariantResult]:
    """Each variant's log-probability of each continuation after its prompt (no generation)."""
    results: list[VariantResult | None] = [None] * len(variants)
    for engine, planned in _by_model(variants, engine_for):
        choices = [engine.tokenize(c, add_bos=False) for c in continuations]
        for pos, variant, ids in planned:
            scored = engine.score_choices(ids, choices)
            results[pos] = VariantResult(
                variant, ids, scores=tuple(tuple(s) for s in scored), model=engine.model_name
            )
            if on_done is not None:
                on_done(results[pos], engine)
    return [r for r in results if r is not None]
