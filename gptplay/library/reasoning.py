"""Chain-of-thought prompts: the answer a reasoning chain ends with, found by a pattern.

A prompt's ``answer_pattern`` is a regular expression whose first group is the answer
(``The answer is (-?\\d+)``); its demonstrations' targets hold the reasoning and that
sentence. ``--cot`` appends a trigger to the query for zero-shot chain of thought
(Kojima et al. 2022, "Let's think step by step.").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_TRIGGER = "Let's think step by step."


@dataclass(frozen=True)
class Extracted:
    """The answer a chain gives: its text and where it sits in the chain (group 1's span)."""

    answer: str
    start: int
    end: int
    sentence: str  # the whole match, e.g. "The answer is 19"


def pattern_problem(pattern: str) -> str | None:
    """Why a pattern cannot be an answer_pattern (it does not compile, or has no group)."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"'answer_pattern' is not a valid regular expression: {exc}"
    if compiled.groups < 1:
        return "'answer_pattern' needs a group around the answer, like 'The answer is (-?\\d+)'"
    return None


def extract(pattern: str, text: str) -> Extracted | None:
    """The first match's first group in ``text``, or None when the chain gives no answer."""
    m = re.search(pattern, text)
    if m is None or m.group(1) is None:
        return None
    return Extracted(m.group(1).strip(), m.start(1), m.end(1), m.group(0))


def direct_target(pattern: str, target: str) -> str:
    """A reasoning demonstration's target without its reasoning: the answer sentence alone."""
    found = extract(pattern, target)
    return target if found is None else found.sentence


def gold_answer(pattern: str | None, label: str) -> str:
    """The gold answer of an example: the pattern's answer when its label is a whole chain."""
    if pattern:
        found = extract(pattern, label)
        if found is not None:
            return found.answer
    return label


def with_trigger(query: str, trigger: str) -> str:
    """The query cut followed by the trigger (a space between, unless it ends a line)."""
    if not trigger:
        return query
    return query + trigger if query.endswith(("\n", " ")) or not query else f"{query} {trigger}"


def token_span(pieces: Sequence[str], start: int, end: int) -> range:
    """The indices of the tokens whose text overlaps characters [start, end) of their join."""
    first = last = None
    pos = 0
    for i, piece in enumerate(pieces):
        nxt = pos + len(piece)
        if nxt > start and pos < end:
            first = i if first is None else first
            last = i
        pos = nxt
    return range(0) if first is None else range(first, last + 1)


def vote(answers: Sequence[str | None], key=lambda a: a) -> tuple[str | None, float]:
    """The majority answer of several chains and its share of them (None: no chain answered).

    Answers are compared by ``key`` (a normalisation); a tie goes to the answer seen first.
    """
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for a in answers:
        if a is None:
            continue
        k = key(a)
        counts[k] = counts.get(k, 0) + 1
        first.setdefault(k, a)
    if not counts:
        return None, 0.0
    best = max(counts, key=lambda k: counts[k])  # max keeps the first of equal counts
    return first[best], counts[best] / len(answers)


@dataclass(frozen=True)
class ChainAnswer:
    """A generated chain read with a prompt's answer_pattern: its reasoning and its answer."""

    reasoning: str  # the text before the answer sentence (the whole text when none is found)
    found: Extracted | None
    tokens: tuple[tuple[str, float | None], ...] = ()  # the answer's tokens, with logprobs

    @property
    def logprob(self) -> float | None:
        """The answer tokens' summed log-probability (None when a token has none)."""
        if not self.tokens or any(lp is None for _, lp in self.tokens):
            return None
        return sum(lp for _, lp in self.tokens if lp is not None)


def read_chain(pattern: str, tokens: Sequence[tuple[str, float | None]]) -> ChainAnswer:
    """Split generated tokens (text, logprob) into the reasoning and the answer they give."""
    text = "".join(t for t, _ in tokens)
    found = extract(pattern, text)
    if found is None:
        return ChainAnswer(text, None)
    span = token_span([t for t, _ in tokens], found.start, found.end)
    sentence_at = text.find(found.sentence)
    reasoning = text[: sentence_at if sentence_at >= 0 else found.start].rstrip()
    return ChainAnswer(reasoning, found, tuple(tokens[i] for i in span))
