"""Scoring generated answers against gold ones: exact match, containment, chrF and BLEU.

chrF and BLEU come from sacrebleu (an optional dependency: ``pip install 'gptplay[metrics]'``),
so the figures are the ones translation papers report, not a re-implementation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from gptplay.errors import GptplayError

METRICS = ("exact", "numeric", "contains", "chrf", "bleu")
CORPUS = ("chrf", "bleu")  # scored over the whole run, as papers report them
_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def normalize(text: str) -> str:
    """Strip, fold case, drop punctuation, squeeze spaces; a number becomes its plain value.

    "124", " 124." and "124.0" all give "124"; "1,000" gives "1000"; "-19" stays "-19".
    """
    text = text.strip()
    number = text.rstrip(".").strip()
    if _NUMBER.fullmatch(number):
        try:
            value = Decimal(number.replace(",", ""))
        except InvalidOperation:
            pass
        else:
            plain = format(value.normalize(), "f")
            return "0" if plain in ("-0", "+0") else plain
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(text.casefold().split())


def exact(output: str, gold: str) -> float:
    """1.0 when the normalised output equals the normalised gold answer."""
    return float(normalize(output) == normalize(gold))


def first_number(text: str) -> Decimal | None:
    """The first number written in text ("$1,200.50 in all" -> 1200.50), or None."""
    m = _NUMBER.search(text)
    if m is None:
        return None
    try:
        return Decimal(m.group(0).replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern only matches numbers
        return None


def numeric(output: str, gold: str) -> float:
    """1.0 when the first number of the output equals the gold answer's first number."""
    want, have = first_number(gold), first_number(output)
    return float(want is not None and have is not None and want == have)


def contains(output: str, gold: str) -> float:
    """1.0 when the normalised gold answer appears in the normalised output (as whole words)."""
    want, have = normalize(gold), normalize(output)
    return float(bool(want) and f" {want} " in f" {have} ")


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError:
        raise GptplayError(
            "--metric chrf and --metric bleu need sacrebleu, which is not installed.",
            hint="pip install 'gptplay[metrics]' (or pip install sacrebleu).",
        ) from None
    return sacrebleu


def check_metric(metric: str) -> None:
    """A GptplayError for an unknown metric, or for chrf/bleu without sacrebleu."""
    if metric not in METRICS:
        raise GptplayError(
            f"--metric {metric!r} is not a metric.", hint=f"one of: {', '.join(METRICS)}"
        )
    if metric in CORPUS:
        _sacrebleu()


def sentence_score(metric: str, output: str, gold: str) -> float:
    """One output's score in [0, 1] (chrF and BLEU divided by 100)."""
    if metric == "exact":
        return exact(output, gold)
    if metric == "contains":
        return contains(output, gold)
    if metric == "numeric":
        return numeric(output, gold)
    sb = _sacrebleu()
    fn = sb.sentence_chrf if metric == "chrf" else sb.sentence_bleu
    return fn(output.strip(), [gold.strip()]).score / 100


def corpus_score(metric: str, outputs: Sequence[str], golds: Sequence[str]) -> float:
    """The run's score in [0, 1]: the mean for exact/contains, sacrebleu's corpus score else."""
    if not outputs:
        return 0.0
    if metric not in CORPUS:
        return sum(sentence_score(metric, o, g) for o, g in zip(outputs, golds)) / len(outputs)
    sb = _sacrebleu()
    fn = sb.corpus_chrf if metric == "chrf" else sb.corpus_bleu
    return fn([o.strip() for o in outputs], [[g.strip() for g in golds]]).score / 100
