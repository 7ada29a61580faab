"""GPT-3's arithmetic tasks, drawn offline from a seed: ``2digit-add``, ``3digit-sub``, ...

As in the paper (Brown et al. 2020, section 3.9.1): the two operands of an n-digit task are
drawn uniformly from [0, 10**n), the question reads "What is 48 plus 76?", and a
subtraction's answer may be negative ("What is 34 minus 53?" -> -19).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from gptplay.errors import UsageError
from gptplay.evaluate.data import Example
from gptplay.library import PromptSpec

OPS = {"add": ("plus", lambda a, b: a + b), "sub": ("minus", lambda a, b: a - b)}
DIGITS = range(2, 6)
TASKS = tuple(f"{n}digit-{op}" for n in DIGITS for op in OPS)
POOL_SIZE = 100  # demonstrations are drawn from problems disjoint from the test set


@dataclass(frozen=True)
class ArithmeticTask:
    """One of GPT-3's arithmetic tasks and the seed its test problems are drawn from."""

    digits: int
    op: str
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.digits}digit-{self.op}"

    @property
    def word(self) -> str:
        return OPS[self.op][0]

    def variables_for(self, spec: PromptSpec) -> dict[str, str]:
        return variables_for(spec, self)

    def examples(self, spec: PromptSpec, n: int) -> tuple[list[Example], list[Example]]:
        return examples(spec, self, n)

    def problems(self, n: int, seed: int, exclude: frozenset = frozenset()) -> list[tuple]:
        """n distinct (a, b, answer) triples not in ``exclude``, drawn with this seed."""
        rng, fn = random.Random(seed), OPS[self.op][1]
        space = 10**self.digits
        if n > space * space - len(exclude):
            raise UsageError(f"--generate {self.name} has fewer than {n} distinct problems.")
        seen, out = set(exclude), []
        while len(out) < n:
            a, b = rng.randrange(space), rng.randrange(space)
            if (a, b) not in seen:
                seen.add((a, b))
                out.append((a, b, fn(a, b)))
        return out


def parse_generate(text: str):
    """'2digit-add' or '3digit-sub:7' (a seed for the test problems) as an ArithmeticTask;
    'word-problems[:SEED]' as the word-problem generator."""
    from gptplay.evaluate.wordproblems import NAME, WordProblems

    w = re.fullmatch(rf"{NAME}(?::(\d+))?", text.strip())
    if w:
        return WordProblems(int(w.group(1) or 0))
    m = re.fullmatch(r"(\d)digit-(add|sub)(?::(\d+))?", text.strip())
    if not m or int(m.group(1)) not in DIGITS:
        raise UsageError(
            f"--generate {text!r} is not an arithmetic task.",
            hint=f"one of: {', '.join(TASKS)}, word-problems "
            "(add :SEED for another draw, like 2digit-add:1)",
        )
    return ArithmeticTask(int(m.group(1)), m.group(2), int(m.group(3) or 0))


def variables_for(spec: PromptSpec, task: ArithmeticTask) -> dict[str, str]:
    """The prompt variables that make it ask this task: ``op`` when the prompt has it."""
    fields = spec.query_fields
    if len(fields) != 2:
        raise UsageError(
            f"--generate needs a prompt with two operand fields; prompt '{spec.name}' has "
            f"{len(fields)} ({', '.join(fields) or 'none'}).",
            hint='like template = "Q: What is {a} {op} {b}?\\nA: {answer}"',
        )
    if "op" in spec.variables:
        return {"op": task.word}
    if task.word not in spec.template:
        raise UsageError(
            f"--generate {task.name} asks '{task.word}' questions, but prompt '{spec.name}' "
            "neither says it nor has an 'op' variable.",
            hint=f"use a prompt whose template says {task.word}, or add [variables] op = ...",
        )
    return {}


def examples(spec: PromptSpec, task: ArithmeticTask, n: int) -> tuple[list[Example], list[Example]]:
    """n test problems from the task's seed, and a demonstration pool disjoint from them."""
    a, b = spec.query_fields

    def as_examples(problems: list[tuple]) -> list[Example]:
        return [
            Example({a: str(x), b: str(y)}, str(z), line=i + 1)
            for i, (x, y, z) in enumerate(problems)
        ]

    test = task.problems(n, task.seed)
    taken = frozenset((x, y) for x, y, _ in test)
    pool = task.problems(POOL_SIZE, task.seed + 1_000_003, exclude=taken)
    return as_examples(test), as_examples(pool)
