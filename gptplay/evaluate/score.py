"""Label scoring and contextual calibration.

Each label is scored by the log-probability of all its tokens after the prompt. The
engine keeps the longest shared token prefix in its KV cache, so for a fixed set of
demonstrations the demonstrations are evaluated once, each example adds only its own
tokens (once for all labels: ``score_choices``), and each label only its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gptplay.engine.base import Engine
from gptplay.evaluate.data import Example
from gptplay.library import PromptSpec, assemble

# The content-free inputs of "Calibrate Before Use" (Zhao et al. 2021).
CONTENT_FREE = ("N/A", "", "[MASK]")


@dataclass(frozen=True)
class LabelScore:
    """One label's score after a prompt: summed log-probability over its tokens."""

    label: str
    logprob: float
    tokens: int

    @property
    def mean(self) -> float:
        """The length-normalised score: log-probability per token."""
        return self.logprob / self.tokens


class LabelScorer:
    """Scores every label of a task after a prompt built from given demonstrations."""

    def __init__(
        self,
        engine: Engine,
        spec: PromptSpec,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.variables = spec.resolve_variables(variables)
        self.labels = spec.labels
        self._prefixes: dict[str, int] = {}
        self.label_ids = {
            label: engine.tokenize(spec.continuation(label, self.variables), add_bos=False)
            for label in self.labels
        }

    def prompt(self, demos: Sequence[Example], fields: Mapping[str, str]) -> str:
        """The prompt text: instruction, demonstrations, then the query cut."""
        answer = self.spec.answer
        composed = assemble(self.spec, [d.as_demo(answer) for d in demos], fields, self.variables)
        return composed.text

    def score(self, demos: Sequence[Example], fields: Mapping[str, str]) -> list[LabelScore]:
        """Every label's score after the prompt for these demonstrations and this query."""
        context = self.engine.tokenize(self.prompt(demos, fields))
        choices = [self.label_ids[label] for label in self.labels]
        prefix = self.shared_prefix(demos)
        scored = self.engine.score_choices(context, choices, prefix=prefix)
        return [
            LabelScore(label, sum(t.logprob or 0.0 for t in tokens), len(tokens))
            for label, tokens in zip(self.labels, scored)
        ]

    def shared_prefix(self, demos: Sequence[Example]) -> int:
        """How many leading tokens every prompt with these demonstrations shares.

        They are evaluated once as their own batch, so each example's scores are the same
        whichever example came before it (and the same as a fresh whole-prompt evaluation
        in those two batches).
        """
        a, b = (self.prompt(demos, dict.fromkeys(self.spec.query_fields, x)) for x in "AB")
        if a not in self._prefixes:
            ids_a, ids_b = self.engine.tokenize(a), self.engine.tokenize(b)
            n = 0
            while n < min(len(ids_a), len(ids_b)) and ids_a[n] == ids_b[n]:
                n += 1
            self._prefixes = {a: n}  # one set of demonstrations at a time
        return self._prefixes[a]

    def content_free(
        self, demos: Sequence[Example], inputs: Sequence[str] = CONTENT_FREE
    ) -> list[list[LabelScore]]:
        """Label scores for each content-free input (every query field set to it)."""
        return [self.score(demos, dict.fromkeys(self.spec.query_fields, text)) for text in inputs]


def values(scores: Sequence[LabelScore], length_norm: bool = False) -> list[float]:
    """The scores that decide the prediction: summed, or per token when length-normalised."""
    return [s.mean if length_norm else s.logprob for s in scores]


def label_probs(scores: Sequence[float]) -> list[float]:
    """Softmax over the label set: the probability of each label among the labels."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def content_free_probs(per_input: Sequence[Sequence[float]]) -> list[float]:
    """p_cf: the label probabilities averaged over the content-free inputs."""
    probs = [label_probs(scores) for scores in per_input]
    return [sum(col) / len(col) for col in zip(*probs)]


def calibrate(scores: Sequence[float], p_cf: Sequence[float]) -> list[float]:
    """Contextual calibration: divide the label probabilities by p_cf and renormalise."""
    raw = [p / c for p, c in zip(label_probs(scores), p_cf)]
    total = sum(raw)
    return [r / total for r in raw]


def argmax(xs: Sequence[float]) -> int:
    """The index of the largest value (the first one on a tie)."""
    return max(range(len(xs)), key=lambda i: (xs[i], -i))
