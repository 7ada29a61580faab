"""Per-example choices: each example's own options scored as continuations of its prompt.

The metrics are lm-evaluation-harness's: ``acc`` takes the option with the highest summed
log-probability; ``acc_norm`` divides it by the option's length in characters (the option's
text, without the space before it), and ``acc_norm_tokens`` by its length in tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptplay.evaluate.data import Example
from gptplay.evaluate.score import PromptScorer, argmax

METRICS = ("accuracy", "acc_norm", "acc_norm_tokens")


@dataclass(frozen=True)
class ChoiceScore:
    """One option after the prompt: summed log-probability, and its length two ways."""

    text: str
    logprob: float
    tokens: int
    chars: int


@dataclass(frozen=True)
class ChoicePrediction:
    """One example's option scores and the option each rule picks (indices into them)."""

    index: int
    gold: int
    scores: tuple[ChoiceScore, ...]
    predicted: int
    predicted_norm: int
    predicted_tokens: int


def pick(scores: Sequence[ChoiceScore]) -> tuple[int, int, int]:
    """The best option by summed log-probability, per character, and per token."""
    return (
        argmax([s.logprob for s in scores]),
        argmax([s.logprob / max(s.chars, 1) for s in scores]),
        argmax([s.logprob / s.tokens for s in scores]),
    )


class ChoiceScorer(PromptScorer):
    """Scores each example's own options after a prompt built from given demonstrations."""

    def predict(self, run, index: int, example: Example) -> ChoicePrediction:
        ids = [self.continuation_ids(option) for option in example.choices]
        logprobs = self.score_continuations(run.demos, example.fields, ids)
        scores = tuple(
            ChoiceScore(option, lp, len(tokens), len(option))
            for option, lp, tokens in zip(example.choices, logprobs, ids)
        )
        return ChoicePrediction(index, example.gold, scores, *pick(scores))


def choice_metrics(predictions: Sequence[ChoicePrediction]) -> dict[str, float]:
    """acc, acc_norm (per character) and acc_norm_tokens over the predictions."""
    n = len(predictions) or 1
    return {
        "accuracy": sum(p.predicted == p.gold for p in predictions) / n,
        "acc_norm": sum(p.predicted_norm == p.gold for p in predictions) / n,
        "acc_norm_tokens": sum(p.predicted_tokens == p.gold for p in predictions) / n,
    }


def chance(test: Sequence[Example]) -> float:
    """The accuracy of guessing: the mean of 1 / (number of options)."""
    return sum(1 / len(e.choices) for e in test) / len(test) if test else 0.0
