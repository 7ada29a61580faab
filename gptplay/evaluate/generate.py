"""Generation tasks: the model writes an answer after the prompt, scored against the gold one.

Greedy by default (temperature 0), or ``samples`` draws at a temperature, each up to the
prompt's stop sequences. Every output keeps its tokens with their probabilities, and the
gold answer's own log-probability is scored too (as a continuation, as labels are), so
a near miss shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gptplay.engine.base import Engine
from gptplay.engine.types import SamplingParams
from gptplay.evaluate.data import Example
from gptplay.evaluate.score import PromptScorer
from gptplay.evaluate.textmetrics import corpus_score, sentence_score
from gptplay.library import PromptSpec


@dataclass(frozen=True)
class GenToken:
    """One generated token, its log-probability, and the most likely tokens at its place."""

    id: int
    text: str
    logprob: float | None
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Sample:
    """One generated answer: its text (stop sequence excluded), tokens, finish, and score."""

    text: str
    tokens: tuple[GenToken, ...]
    finish: str
    seed: int
    score: float


@dataclass(frozen=True)
class GenPrediction:
    """One example's generated answers, its gold answer, and the gold's log-probability."""

    index: int
    gold: str
    samples: tuple[Sample, ...]
    gold_logprob: float
    gold_tokens: tuple[tuple[str, float], ...]


class Generator(PromptScorer):
    """Generates answers after prompts built from given demonstrations, and scores them."""

    def __init__(
        self,
        engine: Engine,
        spec: PromptSpec,
        variables,
        params: SamplingParams,
        samples: int = 1,
        metric: str = "exact",
        top: int = 3,
    ) -> None:
        super().__init__(engine, spec, variables)
        self.params, self.samples, self.metric, self.top = params, samples, metric, top

    def predict(self, run, index: int, example: Example) -> GenPrediction:
        context = self.engine.tokenize(self.prompt(run.demos, example.fields))
        gold_ids = self.continuation_ids(example.label)
        gold = self.engine.score_choices(context, [gold_ids])[0]
        samples = []
        for n in range(self.samples):
            seed = sample_seed(run.shots, run.seed, index, n)
            samples.append(self._generate(context, example.label, seed))
        return GenPrediction(
            index,
            example.label,
            tuple(samples),
            sum(t.logprob or 0.0 for t in gold),
            tuple((t.text, t.logprob or 0.0) for t in gold),
        )

    def _generate(self, context: list[int], gold: str, seed: int) -> Sample:
        stream = self.engine.stream(context, replace(self.params, seed=seed), top=self.top)
        tokens = [
            GenToken(e.id, e.text, e.logprob, tuple((a.text, a.logprob) for a in e.top))
            for e in stream
            if e.id >= 0  # id -1 carries only the tail of an unfinished UTF-8 character
        ]
        done = stream.completion
        assert done is not None
        score = sentence_score(self.metric, done.text, gold)
        return Sample(done.text, tuple(tokens), done.finish_reason, seed, score)


def sample_seed(shots: int, seed: int | None, index: int, n: int) -> int:
    """A fixed seed per (run, example, sample): reruns draw the same answers."""
    return (((shots * 1000 + (seed or 0)) * 100_003 + index) * 101 + n) % 2**32


def generation_metrics(predictions: Sequence[GenPrediction], metric: str) -> dict[str, float]:
    """The metric over every sample; with several samples, also the best sample per example."""
    outputs = [s.text for p in predictions for s in p.samples]
    golds = [p.gold for p in predictions for _ in p.samples]
    out = {metric: corpus_score(metric, outputs, golds)}
    if predictions and len(predictions[0].samples) > 1:
        best = [max(s.score for s in p.samples) for p in predictions]
        out["best_of_n"] = sum(best) / len(best)
    n = len(predictions) or 1
    out["gold_logprob"] = sum(p.gold_logprob for p in predictions) / n
    return out
