"""Summaries of an evaluation: per-shot-count metrics and the JSON record of every prediction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptplay.evaluate.metrics import accuracy, confusion, macro_f1, majority, mean_std
from gptplay.evaluate.run import EvalConfig, Run


@dataclass(frozen=True)
class ShotSummary:
    """The metrics for one shot count, over its seeds (finished examples only)."""

    shots: int
    runs: int
    examples: int
    accuracy: tuple[float, float]
    macro_f1: tuple[float, float]
    calibrated: tuple[float, float] | None
    calibrated_f1: tuple[float, float] | None
    complete: bool


def run_metrics(run: Run, labels: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 of one run, with and without calibration."""
    gold = [p.gold for p in run.predictions]
    pred = [p.predicted for p in run.predictions]
    out = {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred, labels)}
    if run.p_cf is not None:
        cal = [p.calibrated or "" for p in run.predictions]
        out["calibrated_accuracy"] = accuracy(gold, cal)
        out["calibrated_macro_f1"] = macro_f1(gold, cal, labels)
    return out


def summarize(runs: Sequence[Run], labels: Sequence[str]) -> list[ShotSummary]:
    """One ShotSummary per shot count, in the order first run; runs with no examples skipped."""
    out = []
    for shots in dict.fromkeys(r.shots for r in runs):
        group = [r for r in runs if r.shots == shots and r.predictions]
        if not group:
            continue
        metrics = [run_metrics(r, labels) for r in group]
        has_cal = all("calibrated_accuracy" in m for m in metrics)
        out.append(
            ShotSummary(
                shots=shots,
                runs=len(group),
                examples=sum(len(r.predictions) for r in group),
                accuracy=mean_std([m["accuracy"] for m in metrics]),
                macro_f1=mean_std([m["macro_f1"] for m in metrics]),
                calibrated=mean_std([m["calibrated_accuracy"] for m in metrics])
                if has_cal
                else None,
                calibrated_f1=mean_std([m["calibrated_macro_f1"] for m in metrics])
                if has_cal
                else None,
                complete=all(r.complete for r in group),
            )
        )
    return out


def shot_confusion(
    runs: Sequence[Run], shots: int, labels: Sequence[str], calibrated: bool = False
) -> list[list[int]]:
    """The confusion matrix for one shot count, summed over its seeds."""
    gold, pred = [], []
    for run in runs:
        if run.shots == shots:
            gold += [p.gold for p in run.predictions]
            pred += [(p.calibrated or "") if calibrated else p.predicted for p in run.predictions]
    return confusion(gold, pred, labels)


def to_json(
    runs: Sequence[Run],
    labels: Sequence[str],
    config: EvalConfig,
    meta: dict,
    test_lines: Sequence[int],
    gold: Sequence[str],
    interrupted: bool = False,
) -> dict:
    """Everything measured: settings, per-shot summaries, and every prediction with its scores."""
    base_label, base_acc = majority(list(gold))

    def pair(v: tuple[float, float] | None) -> dict | None:
        return None if v is None else {"mean": v[0], "std": v[1]}

    return {
        **meta,
        "labels": list(labels),
        "config": {
            "shots": list(config.shots),
            "seeds": config.seeds,
            "calibrate": config.calibrate,
            "balanced": config.balanced,
            "length_norm": config.length_norm,
            "content_free": list(config.content_free) if config.calibrate else [],
        },
        "examples": len(gold),
        "majority_baseline": {"label": base_label, "accuracy": base_acc},
        "interrupted": interrupted,
        "summary": [
            {
                "shots": s.shots,
                "runs": s.runs,
                "complete": s.complete,
                "accuracy": pair(s.accuracy),
                "macro_f1": pair(s.macro_f1),
                "calibrated_accuracy": pair(s.calibrated),
                "calibrated_macro_f1": pair(s.calibrated_f1),
            }
            for s in summarize(runs, labels)
        ],
        "runs": [_run_json(r, labels, test_lines) for r in runs],
    }


def _run_json(run: Run, labels: Sequence[str], test_lines: Sequence[int]) -> dict:
    return {
        "shots": run.shots,
        "seed": run.seed,
        "complete": run.complete,
        "demonstrations": [{**d.fields, "label": d.label} for d in run.demos],
        "content_free_probs": None if run.p_cf is None else dict(zip(labels, run.p_cf)),
        "content_free_inputs": {t: dict(zip(labels, p)) for t, p in run.cf_inputs.items()},
        **run_metrics(run, labels),
        "predictions": [
            {
                "index": p.index,
                "line": test_lines[p.index],
                "gold": p.gold,
                "predicted": p.predicted,
                "calibrated": p.calibrated,
                "scores": {
                    s.label: {"logprob": s.logprob, "per_token": s.mean, "tokens": s.tokens}
                    for s in p.scores
                },
            }
            for p in run.predictions
        ],
    }
