"""Running an evaluation: for each shot count and seed, sample demonstrations and score."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from gptplay.evaluate.concurrent import ordered_map
from gptplay.evaluate.data import DataError, Example
from gptplay.evaluate.score import (
    CONTENT_FREE,
    LabelScore,
    LabelScorer,
    argmax,
    calibrate,
    content_free_probs,
    label_probs,
    values,
)

# The test subset is drawn with its own fixed seed, so every run scores the same examples.
SUBSET_SEED = 0


@dataclass(frozen=True)
class EvalConfig:
    """What to measure: the shot counts, how many demonstration seeds, and how to score."""

    shots: tuple[int, ...] = (0, 1, 4, 8)
    seeds: int = 5
    calibrate: bool = False
    balanced: bool = False
    length_norm: bool = False
    content_free: tuple[str, ...] = CONTENT_FREE
    samples: int = 1  # generation: outputs per example (1 with temperature 0: greedy)
    metric: str = "exact"  # generation: exact, numeric, contains, chrf or bleu
    vote: bool = False  # generation: self-consistency, the majority answer of the samples


@dataclass
class Prediction:
    """One test example's label scores and what was predicted from them."""

    index: int
    gold: str
    scores: list[LabelScore]
    predicted: str
    calibrated: str | None = None


@dataclass
class Run:
    """One (shots, seed): its demonstrations, content-free probabilities and predictions."""

    shots: int
    seed: int | None
    demos: list[Example]
    p_cf: list[float] | None = None
    cf_inputs: dict[str, list[float]] = field(default_factory=dict)
    predictions: list = field(default_factory=list)  # Prediction, ChoicePrediction, ...
    total: int = 0

    @property
    def complete(self) -> bool:
        return len(self.predictions) == self.total


def subset(examples: Sequence[Example], limit: int | None) -> list[Example]:
    """At most ``limit`` examples, drawn at random with a fixed seed (in file order)."""
    if limit is None or limit >= len(examples):
        return list(examples)
    keep = sorted(random.Random(SUBSET_SEED).sample(range(len(examples)), limit))
    return [examples[i] for i in keep]


def sample_demos(
    pool: Sequence[Example],
    shots: int,
    seed: int,
    labels: Sequence[str],
    balanced: bool = False,
) -> list[Example]:
    """``shots`` demonstrations drawn from the pool with this seed; optionally class-balanced."""
    rng = random.Random(seed)
    if shots > len(pool):
        raise DataError(
            f"{shots} shots need {shots} demonstrations but the pool holds {len(pool)}.",
            hint="lower --shots, or pass a larger --pool file.",
        )
    if not balanced:
        return [pool[i] for i in rng.sample(range(len(pool)), shots)]
    by_label = {label: [e for e in pool if e.label == label] for label in labels}
    # each label gets shots // L; the remainder goes to labels chosen at random
    extra = set(rng.sample(list(labels), shots % len(labels)))
    chosen: list[Example] = []
    for label in labels:
        want = shots // len(labels) + (label in extra)
        have = by_label[label]
        if want > len(have):
            raise DataError(
                f"--balanced with {shots} shots needs {want} '{label}' demonstrations but the "
                f"pool has {len(have)}.",
                hint="lower --shots, drop --balanced, or pass a larger --pool file.",
            )
        chosen += [have[i] for i in rng.sample(range(len(have)), want)]
    rng.shuffle(chosen)
    return chosen


def plan(config: EvalConfig, chosen: bool = False) -> list[tuple[int, int | None]]:
    """Every (shots, seed) to run; zero shots has no demonstrations, so it runs once.

    ``chosen``: demonstrations are chosen per example (--select similar), not drawn with a
    seed, so each shot count runs once too.
    """
    return [
        (k, None) if k == 0 or chosen else (k, seed)
        for k in config.shots
        for seed in ([None] if k == 0 or chosen else range(config.seeds))
    ]


def seeds_text(config: EvalConfig) -> str:
    """How many demonstration samples run, as the plan runs them: zero-shot needs no seed."""
    sampled = [k for k in config.shots if k > 0]
    if not sampled:
        return "zero-shot (no demonstrations to sample: one run)"
    seeds = f"{config.seeds} seed{'' if config.seeds == 1 else 's'}"
    return seeds + (" (zero-shot runs once)" if len(sampled) < len(config.shots) else "")


# (example index, example, shots) -> that example's demonstrations (--select similar)
Chooser = Callable[[int, Example, int], list[Example]]


ProgressFn = Callable[[Run, int], None]


class ExampleScorer(Protocol):
    """What evaluate() asks of a scorer other than LabelScorer: one prediction per example."""

    labels: tuple[str, ...]

    def predict(self, run: Run, index: int, example: Example) -> Any: ...


def evaluate(
    scorer: LabelScorer | ExampleScorer,
    test: Sequence[Example],
    pool: Sequence[Example],
    config: EvalConfig,
    runs: list[Run],
    progress: ProgressFn | None = None,
    concurrency: int = 1,
    chooser: Chooser | None = None,
) -> list[Run]:
    """Score every test example for every (shots, seed), appending to ``runs`` as it goes.

    Results land in ``runs`` one prediction at a time, so a caller interrupted mid-way
    (Ctrl-C) still holds everything that was finished. ``concurrency`` keeps that many
    examples in flight (for a server's parallel slots); the results do not depend on it.
    ``chooser`` picks each example's own demonstrations (the run then holds none).
    """
    labels = scorer.labels
    todo = plan(config, chosen=chooser is not None)
    for shots, seed in todo:  # sample all first: a pool too small fails before any scoring
        if chooser is None:
            sample_demos(pool, shots, seed or 0, labels, config.balanced)
    for shots, seed in todo:
        demos = (
            []
            if chooser is not None
            else sample_demos(pool, shots, seed or 0, labels, config.balanced)
        )
        run = Run(shots, seed, demos, total=len(test))
        runs.append(run)
        if isinstance(scorer, LabelScorer):
            _calibrate_run(scorer, run, config)

        def predict(ex: Example, i: int, run: Run = run) -> Any:
            if chooser is not None and run.shots:  # this example's own demonstrations
                run = replace(run, demos=chooser(i, ex, run.shots))
            if isinstance(scorer, LabelScorer):
                return _predict_label(scorer, run, i, ex, config)
            return scorer.predict(run, i, ex)

        # with concurrency N, N examples are scored at once; results still land in order
        indexed = list(enumerate(test))
        preds = ordered_map(lambda item: predict(item[1], item[0]), indexed, concurrency)
        for i, pred in enumerate(preds):
            run.predictions.append(pred)
            if progress is not None:
                progress(run, i + 1)
    return runs


def _calibrate_run(scorer: LabelScorer, run: Run, config: EvalConfig) -> None:
    """p_cf for this run's demonstrations, when calibration is asked for."""
    if config.calibrate:
        per_input = scorer.content_free(run.demos, config.content_free)
        cf = [values(s, config.length_norm) for s in per_input]
        run.p_cf = content_free_probs(cf)
        run.cf_inputs = {t: label_probs(v) for t, v in zip(config.content_free, cf)}


def _predict_label(
    scorer: LabelScorer, run: Run, index: int, example: Example, config: EvalConfig
) -> Prediction:
    labels = scorer.labels
    scores = scorer.score(run.demos, example.fields)
    vals = values(scores, config.length_norm)
    pred = Prediction(index, example.label, scores, labels[argmax(vals)])
    if run.p_cf is not None:
        pred.calibrated = labels[argmax(calibrate(vals, run.p_cf))]
    return pred
