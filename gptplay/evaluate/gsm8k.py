"""GSM8K-style word problems: JSON Lines of ``question`` and an ``answer`` ending ``#### N``.

GSM8K's answers are worked solutions with calculator annotations (``48/2 = <<48/2=24>>24``)
and a last line ``#### 72``. Each becomes a reasoning chain for a chain-of-thought prompt:
the solution's lines joined, the annotations dropped, then "The answer is 72." (so the
rows serve as test examples, whose gold is 72, and as reasoning demonstrations).
"""

from __future__ import annotations

import re
from pathlib import Path

from gptplay import jsonin
from gptplay.evaluate.data import DataError, Example, _read
from gptplay.fileio import require_regular_file
from gptplay.library import PromptSpec
from gptplay.library.reasoning import gold_answer

_FINAL = re.compile(r"^####\s*(\S.*?)\s*$")
_CALC = re.compile(r"<<[^<>]*>>")


def chain_of(solution: str, final: str) -> str:
    """A GSM8K solution (without its #### line) as one reasoning chain ending in the answer."""
    steps = " ".join(line.strip() for line in solution.splitlines() if line.strip())
    steps = _CALC.sub("", steps)
    return f"{steps} The answer is {final}.".strip()


def parse_answer(path: Path, line: int, answer: str) -> tuple[str, str]:
    """The solution before the final '#### N' line, and N; a located DataError without it."""
    lines = answer.rstrip().splitlines()
    m = _FINAL.match(lines[-1].strip()) if lines else None
    if m is None:
        raise DataError(
            f"{path}:{line}: the answer has no final '#### N' line (GSM8K's answers end with "
            "the number after ####).",
            hint='like "answer": "She sold 48 / 2 = 24 clips.\\n#### 24"',
        )
    return "\n".join(lines[:-1]), m.group(1).replace(",", "")


def load_gsm8k(path: Path, spec: PromptSpec) -> list[Example]:
    """Every line of a GSM8K JSONL file as an Example whose label is a reasoning chain."""
    if len(spec.query_fields) != 1 or not spec.answer_pattern:
        raise DataError(
            f"--gsm8k needs a chain-of-thought prompt with one question field and an "
            f"answer_pattern; prompt '{spec.name}' is not one.",
            hint="use the built-in word-problems prompt.",
        )
    require_regular_file(path, "a data file", DataError)
    (field,) = spec.query_fields
    out = []
    for n, raw in enumerate(_read(path).splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = jsonin.loads(raw)
        except jsonin.JsonProblem as exc:
            raise DataError(f"{path}:{n}: not valid JSON ({exc.reason}).") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{n}: a line must be a JSON object.")
        for key in ("question", "answer"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise DataError(
                    f"{path}:{n}: no '{key}' text (a GSM8K line holds question and answer).",
                    hint='like {"question": "...", "answer": "...\\n#### 24"}',
                )
        solution, final = parse_answer(path, n, row["answer"])
        chain = chain_of(solution, final)
        if gold_answer(spec.answer_pattern, chain).replace(",", "") != final:
            raise DataError(
                f"{path}:{n}: prompt '{spec.name}''s answer_pattern "
                f"{spec.answer_pattern!r} does not find {final!r} in 'The answer is {final}.'",
                hint="the prompt's answer_pattern must match 'The answer is N.'",
            )
        out.append(Example({field: row["question"].strip()}, chain, line=n))
    if not out:
        raise DataError(f"{path}: the file holds no examples.")
    return out
