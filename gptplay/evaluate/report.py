"""Summaries of an evaluation: per-shot-count metrics and the JSON record of every prediction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gptplay.evaluate.choices import ChoicePrediction, choice_metrics
from gptplay.evaluate.generate import GenPrediction, generation_metrics
from gptplay.evaluate.metrics import accuracy, confusion, macro_f1, majority, mean_std
from gptplay.evaluate.run import EvalConfig, Run

Pair = tuple[float, float]


@dataclass(frozen=True)
class ShotSummary:
    """The metrics for one shot count, over its seeds (finished examples only).

    ``metrics`` maps each metric's name to (mean, std) over the seeds; the first is the
    headline figure (``accuracy`` for labels and choices, the ``--metric`` for generation).
    """

    shots: int
    runs: int
    examples: int
    metrics: Mapping[str, Pair]
    complete: bool

    @property
    def primary(self) -> Pair:
        return next(iter(self.metrics.values()))

    @property
    def accuracy(self) -> Pair:
        return self.metrics.get("accuracy", self.primary)

    @property
    def macro_f1(self) -> Pair | None:
        return self.metrics.get("macro_f1")

    @property
    def calibrated(self) -> Pair | None:
        return self.metrics.get("calibrated_accuracy")

    @property
    def calibrated_f1(self) -> Pair | None:
        return self.metrics.get("calibrated_macro_f1")


def run_metrics(run: Run, labels: Sequence[str], metric: str = "exact") -> dict[str, float]:
    """One run's metrics: accuracy and macro-F1 (with and without calibration) for labels,
    acc/acc_norm for per-example choices, the generation metric for generated answers."""
    preds = run.predictions
    if preds and isinstance(preds[0], ChoicePrediction):
        return choice_metrics(preds)
    if preds and isinstance(preds[0], GenPrediction):
        return generation_metrics(preds, metric)
    gold = [p.gold for p in preds]
    pred = [p.predicted for p in preds]
    out = {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred, labels)}
    if run.p_cf is not None:
        cal = [p.calibrated or "" for p in preds]
        out["calibrated_accuracy"] = accuracy(gold, cal)
        out["calibrated_macro_f1"] = macro_f1(gold, cal, labels)
    return out


def summarize(
    runs: Sequence[Run], labels: Sequence[str], metric: str = "exact"
) -> list[ShotSummary]:
    """One ShotSummary per shot count, in the order first run; runs with no examples skipped."""
    out = []
    for shots in dict.fromkeys(r.shots for r in runs):
        group = [r for r in runs if r.shots == shots and r.predictions]
        if not group:
            continue
        per_run = [run_metrics(r, labels, metric) for r in group]
        names = [k for k in per_run[0] if all(k in m for m in per_run)]
        out.append(
            ShotSummary(
                shots=shots,
                runs=len(group),
                examples=sum(len(r.predictions) for r in group),
                metrics={k: mean_std([m[k] for m in per_run]) for k in names},
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
    words: Mapping[str, Sequence[str]] | None = None,
) -> dict:
    """Everything measured: settings, per-shot summaries, and every prediction with its scores."""
    base_label, base_acc = majority(list(gold))

    def pair(v: tuple[float, float] | None) -> dict | None:
        return None if v is None else {"mean": v[0], "std": v[1]}

    return {
        **meta,
        "labels": list(labels),
        **({"label_words": {k: list(v) for k, v in words.items()}} if words else {}),
        "config": {
            "shots": list(config.shots),
            "seeds": config.seeds,
            "calibrate": config.calibrate,
            "balanced": config.balanced,
            "length_norm": config.length_norm,
            "content_free": list(config.content_free) if config.calibrate else [],
            "samples": config.samples,
            "metric": config.metric,
            "vote": config.vote,
        },
        "examples": len(gold),
        "majority_baseline": {"label": base_label, "accuracy": base_acc},
        "interrupted": interrupted,
        "summary": [
            {
                "shots": s.shots,
                "runs": s.runs,
                "complete": s.complete,
                **{k: pair(v) for k, v in s.metrics.items()},
            }
            for s in summarize(runs, labels, config.metric)
        ],
        "runs": [_run_json(r, labels, test_lines, config.metric, words) for r in runs],
    }


def _run_json(
    run: Run,
    labels: Sequence[str],
    test_lines: Sequence[int],
    metric: str,
    words: Mapping[str, Sequence[str]] | None,
) -> dict:
    preds = run.predictions
    if preds and isinstance(preds[0], ChoicePrediction):
        body = [_choice_json(p) for p in preds]
    elif preds and isinstance(preds[0], GenPrediction):
        body = [_gen_json(p) for p in preds]
    else:
        body = [_label_json(p, words or {}) for p in preds]
    return {
        "shots": run.shots,
        "seed": run.seed,
        "complete": run.complete,
        "demonstrations": [_demo_json(d) for d in run.demos],
        "content_free_probs": None if run.p_cf is None else dict(zip(labels, run.p_cf)),
        "content_free_inputs": {t: dict(zip(labels, p)) for t, p in run.cf_inputs.items()},
        **run_metrics(run, labels, metric),
        "predictions": [
            {"index": p.index, "line": test_lines[p.index], **b} for p, b in zip(preds, body)
        ],
    }


def _demo_json(d) -> dict:
    out = {**d.fields, "label": d.label}
    if d.choices:
        out["choices"], out["gold"] = list(d.choices), d.gold
    return out


def _label_json(p, words: Mapping[str, Sequence[str]]) -> dict:
    def word(label: str | None):
        return None if label is None else (list(words[label])[0] if label in words else label)

    out = {"gold": p.gold, "predicted": p.predicted, "calibrated": p.calibrated}
    if words:
        out |= {"gold_word": word(p.gold), "predicted_word": word(p.predicted)}
        out["calibrated_word"] = word(p.calibrated)
    scores = {}
    for s in p.scores:
        scores[s.label] = {"logprob": s.logprob, "per_token": s.mean, "tokens": s.tokens}
        if s.words:
            scores[s.label]["words"] = {w: {"logprob": lp, "tokens": n} for w, lp, n in s.words}
    return out | {"scores": scores}


def _choice_json(p: ChoicePrediction) -> dict:
    return {
        "gold": p.gold,
        "predicted": p.predicted,
        "gold_text": p.scores[p.gold].text,
        "predicted_text": p.scores[p.predicted].text,
        "predicted_norm": p.predicted_norm,
        "predicted_tokens": p.predicted_tokens,
        "choices": [
            {"text": s.text, "logprob": s.logprob, "tokens": s.tokens, "chars": s.chars}
            for s in p.scores
        ],
    }


def _gen_json(p: GenPrediction) -> dict:
    extra = {"vote": p.vote, "vote_share": p.vote_share} if p.vote_share is not None else {}
    return {
        **extra,
        "gold": p.gold,
        "gold_logprob": p.gold_logprob,
        "gold_tokens": [{"text": t, "logprob": lp} for t, lp in p.gold_tokens],
        "samples": [
            {
                "text": s.text,
                **({"answer": s.answer} if p.chain else {}),
                "score": s.score,
                "finish": s.finish,
                "seed": s.seed,
                "logprob": sum(t.logprob or 0.0 for t in s.tokens),
                "tokens": [
                    {
                        "id": t.id,
                        "text": t.text,
                        "logprob": t.logprob,
                        "top": [{"text": a, "logprob": lp} for a, lp in t.top],
                        **(
                            {"constrained_logprob": t.constrained_logprob}
                            if t.constrained_logprob is not None
                            else {}
                        ),
                    }
                    for t in s.tokens
                ],
            }
            for s in p.samples
        ],
    }
