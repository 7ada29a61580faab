"""Arithmetic word problems drawn offline from a seed, each with a worked chain of thought.

``--generate word-problems`` (or ``word-problems:SEED``): one- and two-step problems of
the GSM8K kind (add, take away, groups of, share equally, buy then give away), small
enough numbers that a person does them in their head. Every target is a reasoning chain
ending "The answer is N.", so the problems serve both as a test set (the gold answer is
N) and as reasoning demonstrations; a direct prompt shows only the final sentence.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gptplay.errors import UsageError
from gptplay.evaluate.data import Example
from gptplay.library import PromptSpec

NAMES = ("Ada", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivo", "Jun")
ITEMS = ("apples", "marbles", "stickers", "books", "pencils", "shells", "cards", "coins")
POOL_SIZE = 100
NAME = "word-problems"


def _add(r: random.Random, who: str, item: str) -> tuple[str, str, int]:
    a, b = r.randrange(2, 60), r.randrange(2, 40)
    q = f"{who} has {a} {item}. {who} buys {b} more. How many {item} does {who} have now?"
    return q, f"{who} starts with {a} {item} and buys {b} more, so {a} + {b} = {a + b}.", a + b


def _sub(r: random.Random, who: str, item: str) -> tuple[str, str, int]:
    b = r.randrange(2, 40)
    a = b + r.randrange(1, 50)
    q = f"{who} has {a} {item} and gives {b} of them to a friend. How many {item} are left?"
    return q, f"{who} starts with {a} {item} and gives away {b}, so {a} - {b} = {a - b}.", a - b


def _mul(r: random.Random, who: str, item: str) -> tuple[str, str, int]:
    a, b = r.randrange(2, 10), r.randrange(2, 12)
    q = f"{who} buys {a} boxes with {b} {item} in each box. How many {item} does {who} buy?"
    return q, f"There are {a} boxes of {b} {item}, so {a} * {b} = {a * b}.", a * b


def _div(r: random.Random, who: str, item: str) -> tuple[str, str, int]:
    b, each = r.randrange(2, 10), r.randrange(2, 12)
    a = b * each
    q = f"{who} shares {a} {item} equally among {b} friends. How many {item} does each get?"
    return q, f"{a} {item} shared among {b} friends is {a} / {b} = {each} each.", each


def _two_step(r: random.Random, who: str, item: str) -> tuple[str, str, int]:
    a, b = r.randrange(5, 40), r.randrange(2, 30)
    c = r.randrange(1, a + b)
    q = (
        f"{who} has {a} {item}, buys {b} more and then gives away {c}. "
        f"How many {item} does {who} have?"
    )
    chain = f"{who} has {a} + {b} = {a + b} {item} after buying, then {a + b} - {c} = {a + b - c}."
    return q, chain, a + b - c


KINDS = (_add, _sub, _mul, _div, _two_step)


@dataclass(frozen=True)
class WordProblems:
    """The word-problem generator and the seed its test problems are drawn from."""

    seed: int = 0
    name: str = NAME

    def problems(self, n: int, seed: int, exclude: frozenset = frozenset()) -> list[tuple]:
        """n distinct (question, chain, answer) triples not in ``exclude``, from this seed."""
        rng, seen, out = random.Random(seed), set(exclude), []
        for _ in range(50 * n + 1000):
            if len(out) == n:
                return out
            kind = KINDS[rng.randrange(len(KINDS))]
            q, chain, answer = kind(rng, rng.choice(NAMES), rng.choice(ITEMS))
            if q not in seen:
                seen.add(q)
                out.append((q, f"{chain} The answer is {answer}.", answer))
        raise UsageError(f"--generate {self.name} drew fewer than {n} distinct problems.")

    def variables_for(self, spec: PromptSpec) -> dict[str, str]:
        """Checks the prompt asks one question and reads a chain; no variables to set."""
        if len(spec.query_fields) != 1 or not spec.answer_pattern:
            raise UsageError(
                f"--generate {self.name} needs a chain-of-thought prompt with one question "
                f"field and an answer_pattern; prompt '{spec.name}' has "
                f"{len(spec.query_fields)} field(s)"
                + ("" if spec.answer_pattern else " and no answer_pattern")
                + ".",
                hint="use the built-in word-problems prompt.",
            )
        return {}

    def examples(self, spec: PromptSpec, n: int) -> tuple[list[Example], list[Example]]:
        """n test problems and a pool of reasoning demonstrations disjoint from them."""
        (field,) = spec.query_fields

        def as_examples(problems: list[tuple]) -> list[Example]:
            return [
                Example({field: q}, chain, line=i + 1) for i, (q, chain, _) in enumerate(problems)
            ]

        test = self.problems(n, self.seed)
        pool = self.problems(POOL_SIZE, self.seed + 1_000_003, frozenset(q for q, _, _ in test))
        return as_examples(test), as_examples(pool)
