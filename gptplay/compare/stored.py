"""A comparison in the history: each variant one recorded run, grouped; reopened by id.

A variant's run is recorded as `gptplay fewshot` records one (command ``compare``), with
``extra = {"comparison": GROUP, "label", "index", "axes"}``; `gptplay compare --runs ID`
reopens the whole comparison a run belongs to, or the runs named, side by side.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from gptplay.compare.run import VariantResult
from gptplay.compare.variants import Variant
from gptplay.engine.types import SamplingParams, TokenEvent
from gptplay.errors import GptplayError

GROUP = "comparison"


def new_group() -> str:
    """A fresh comparison id."""
    return uuid.uuid4().hex[:12]


def _extra(r: VariantResult, group: str, **more: object) -> dict:
    v = r.variant
    return {GROUP: group, "label": v.label, "index": v.index, "axes": dict(v.axes), **more}


def record(r: VariantResult, engine, group: str, *, warn=None) -> list[int]:
    """Write one finished variant; the run ids written (never raises: history never fails
    a run)."""
    from gptplay.history import write
    from gptplay.history.record import build

    v = r.variant
    if r.completion is not None:
        rec = build(
            "compare", v.prompt, engine, dict(v.settings), r.completion,
            task=v.settings.get("task"), prompt_ids=r.prompt_ids, extra=_extra(r, group),
        )  # fmt: skip
        return [i for i in [write(rec, warn)] if i is not None]
    ids = []
    for n, tokens in enumerate(r.scores):  # --score: one run per continuation, as scored
        events = [TokenEvent(t.id, t.bytes, t.text, t.logprob, tuple(t.top)) for t in tokens]
        rec = build(
            "compare", v.prompt, engine, dict(v.settings), events=events, finish="scored",
            task=v.settings.get("task"), prompt_ids=r.prompt_ids,
            extra=_extra(r, group, continuation=n),
        )  # fmt: skip
        ids += [i for i in [write(rec, warn)] if i is not None]
    return ids


def group_ids(group: str) -> list[int]:
    """The runs recorded for one comparison, in the order they were written."""
    from gptplay.history.runs import opened

    with opened() as conn:
        rows = conn.execute(
            "SELECT id FROM runs WHERE CASE WHEN json_valid(extra) "  # a damaged row: not ours
            "THEN json_extract(extra, '$.comparison') END = ? ORDER BY id",
            (group,),
        ).fetchall()
    return [row[0] for row in rows]


def _params(run) -> SamplingParams:
    """The sampling settings a recorded run used, its seed the one that ran."""
    from gptplay.history.record import recorded_values
    from gptplay.settings import Layer, resolve
    from gptplay.settings.schema import FLAG

    layer = Layer(FLAG, recorded_values(run.settings, run.seed), f"history run {run.id}")
    try:
        return resolve([layer]).sampling()
    except GptplayError:  # a setting recorded by an older gptplay that no longer fits
        return SamplingParams(seed=run.seed)


def reopen(ids: Sequence[int]) -> list[VariantResult]:
    """Recorded runs as variants: one id of a comparison brings back all of it.

    A HistoryError names a run that is not there. Scored runs (`--score`) are skipped:
    they have no output to show side by side.
    """
    from gptplay.history.runs import load

    runs = [load(i) for i in ids]
    if len(runs) == 1 and runs[0].extra.get(GROUP):  # the comparison, in its variants' order
        runs = [load(i) for i in group_ids(runs[0].extra[GROUP])]
        runs.sort(key=lambda r: r.extra.get("index", 0))
    results = []
    for n, run in enumerate(r for r in runs if r.finish != "scored"):
        label = run.extra.get("label") or f"run {run.id}"
        axes = run.extra.get("axes") or {"run": run.id}
        settings = {**run.settings, "run": run.id}
        params = _params(run)
        variant = Variant(
            n, axes, run.prompt, params, run.model, f"{label} (run {run.id})", settings
        )
        prompt_ids = list(run.prompt_ids or ())
        results.append(VariantResult(variant, prompt_ids, run.completion(), model=run.model or ""))
    if not results:
        from gptplay.history.store import HistoryError

        shown = ("runs " if len(runs) > 1 else "run ") + ", ".join(str(r.id) for r in runs)
        raise HistoryError(
            f"{shown} scored continuations (--score): there is no output to show side by side.",
            hint=f"gptplay history show {runs[0].id} shows one run's scored tokens.",
        )
    return results
