"""Classification metrics over gold and predicted labels, and their spread over seeds."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence


def accuracy(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The share of predictions equal to the gold label (0 for no examples)."""
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold)


def confusion(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> list[list[int]]:
    """Counts: row = gold label, column = predicted label, both in ``labels`` order."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted):
        matrix[index[g]][index[p]] += 1
    return matrix


def macro_f1(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """F1 per label, averaged over the labels that occur in gold or predictions."""
    matrix = confusion(gold, predicted, labels)
    scores = []
    for i in range(len(labels)):
        tp = matrix[i][i]
        n_gold = sum(matrix[i])
        n_pred = sum(row[i] for row in matrix)
        if n_gold == 0 and n_pred == 0:
            continue  # a label absent from both says nothing about this run
        scores.append(2 * tp / (n_gold + n_pred))
    return sum(scores) / len(scores) if scores else 0.0


def majority(gold: Sequence[str]) -> tuple[str, float]:
    """The most common gold label and the accuracy of always predicting it."""
    if not gold:
        return "", 0.0
    label, count = Counter(gold).most_common(1)[0]
    return label, count / len(gold)


def mean_std(xs: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for fewer than two values)."""
    if not xs:
        return math.nan, math.nan
    mean = sum(xs) / len(xs)
    if len(xs) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
