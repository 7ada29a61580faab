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
    """One label's score after a prompt: summed log-probability over its tokens.

    A label written with several words scores the log of their summed probabilities;
    ``words`` holds each word's own (logprob, tokens), and ``tokens`` is the most probable
    word's count.
    """

    label: str
    logprob: float
    tokens: int
    words: tuple[tuple[str, float, int], ...] = ()

    @property
    def mean(self) -> float:
        """The length-normalised score: log-probability per token."""
        return self.logprob / self.tokens


class PromptScorer:
    """A prompt built from given demonstrations and a query, and the prefix they share."""

    labels: tuple[str, ...] = ()

    def __init__(
        self,
        engine: Engine,
        spec: PromptSpec,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.spec = spec
        self.variables = spec.resolve_variables(variables)
        # variables of one query only (--context: its retrieved passages), by query_key
        self.per_query: Mapping[tuple, Mapping[str, str]] = {}

    def variables_for(self, fields: Mapping[str, str]) -> dict[str, str]:
        """The prompt's variables for this query (its own, e.g. {context}, over the shared)."""
        own = self.per_query.get(query_key(fields))
        return {**self.variables, **own} if own else self.variables

    def continuation_ids(self, answer: str) -> list[int]:
        """The tokens that follow the query cut for this answer (" positive")."""
        return self.engine.tokenize(self.spec.continuation(answer, self.variables), add_bos=False)

    def prompt(self, demos: Sequence[Example], fields: Mapping[str, str]) -> str:
        """The prompt text: instruction, demonstrations, then the query cut."""
        answer = self.spec.answer
        demos_shown = [d.as_demo(answer) for d in demos]
        return assemble(self.spec, demos_shown, fields, self.variables_for(fields)).text

    def score_continuations(
        self, demos: Sequence[Example], fields: Mapping[str, str], choices: list[list[int]]
    ) -> list[float]:
        """The summed log-probability of each continuation after the prompt."""
        context = self.engine.tokenize(self.prompt(demos, fields))
        scored = self.engine.score_choices(context, choices)
        return [sum(t.logprob or 0.0 for t in tokens) for tokens in scored]

    def shared_prefix(self, demos: Sequence[Example]) -> int:
        """How many leading tokens every prompt with these demonstrations shares.

        The engine keeps them cached for the next examples; scoring's decodes are padded, so
        an example's scores do not depend on what the cache held before.
        """
        a, b = (
            self.engine.tokenize(self.prompt(demos, dict.fromkeys(self.spec.query_fields, x)))
            for x in "AB"
        )
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n


class LabelScorer(PromptScorer):
    """Scores every label of a task after a prompt built from given demonstrations."""

    def __init__(
        self,
        engine: Engine,
        spec: PromptSpec,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(engine, spec, variables)
        self.labels = spec.labels
        self.word_ids = {
            label: [self.continuation_ids(w) for w in spec.words(label)] for label in self.labels
        }
        self.label_ids = {label: ids[0] for label, ids in self.word_ids.items()}

    def score(self, demos: Sequence[Example], fields: Mapping[str, str]) -> list[LabelScore]:
        """Every label's score after the prompt for these demonstrations and this query."""
        flat = [ids for label in self.labels for ids in self.word_ids[label]]
        logprobs = iter(self.score_continuations(demos, fields, flat))
        out = []
        for label in self.labels:
            words = tuple(
                (w, next(logprobs), len(ids))
                for w, ids in zip(self.spec.words(label), self.word_ids[label])
            )
            best = max(words, key=lambda w: w[1])
            total = logsumexp([w[1] for w in words])
            out.append(LabelScore(label, total, best[2], words if len(words) > 1 else ()))
        return out

    def content_free(
        self, demos: Sequence[Example], inputs: Sequence[str] = CONTENT_FREE
    ) -> list[list[LabelScore]]:
        """Label scores for each content-free input (every query field set to it)."""
        return [self.score(demos, dict.fromkeys(self.spec.query_fields, text)) for text in inputs]


def query_key(fields: Mapping[str, str]) -> tuple:
    """A query's fields as a key (what per-query variables are looked up by)."""
    return tuple(sorted(fields.items()))


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


def logsumexp(xs: Sequence[float]) -> float:
    """log(sum(exp(x))): the log of summed probabilities, computed without overflow."""
    top = max(xs)
    return top + math.log(sum(math.exp(x - top) for x in xs))


def argmax(xs: Sequence[float]) -> int:
    """The index of the largest value (the first one on a tie)."""
    return max(range(len(xs)), key=lambda i: (xs[i], -i))
