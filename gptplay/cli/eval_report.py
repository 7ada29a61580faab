"""What `gptplay eval` prints and writes: tables, the chart, confusion, the --output record."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from gptplay.cli.eval_run import CHOICES, GENERATE, LABELS, EvalSession, PromptEval, shown_label
from gptplay.evaluate import shot_confusion, summarize, to_json
from gptplay.evaluate.metrics import majority


def summaries(session: EvalSession, pe: PromptEval):
    return summarize(pe.runs, pe.spec.labels, session.config.metric)


def baseline(pe: PromptEval) -> tuple[str, float] | None:
    """What guessing scores: the majority class, chance among the options, or nothing."""
    if pe.mode == LABELS:
        label, acc = majority([e.label for e in pe.test])
        return f"majority class ({shown_label(pe.spec, label)})", acc
    if pe.mode == CHOICES:
        from gptplay.evaluate.choices import chance

        return "chance (1 / options)", chance(pe.test)
    return None


def report(session: EvalSession, out: Console, show_confusion: bool) -> None:
    """One prompt: its table, baseline, chart and confusion; several: one table side by side."""
    from gptplay.cli.eval_view import chart, confusion_table, results_table, side_by_side

    if len(session.prompts) > 1:
        columns = [(pe.name, summaries(session, pe)) for pe in session.prompts]
        if not any(ss for _, ss in columns):
            out.print("no example was scored.")
            return
        pe0 = session.prompts[0]
        title = session.title(pe0).replace(f"{pe0.name} on", "prompts side by side on", 1)
        out.print(side_by_side(columns, title))
        _unfinished_note(out, [s for _, ss in columns for s in ss])
        for pe in session.prompts:
            base = baseline(pe)
            if base is not None:
                out.print(f"{pe.name}: {base[0]}: {100 * base[1]:.1f}%", markup=False)
        return
    pe = session.prompts[0]
    ss = summaries(session, pe)
    if not ss:
        out.print("no example was scored.")
        return
    out.print(results_table(ss, session.title(pe)))
    _unfinished_note(out, ss)
    base = baseline(pe)
    if base is not None:
        out.print(f"{base[0]}: {100 * base[1]:.1f}%", markup=False)
    if session.scoring:
        out.print(session.scoring, style="dim", markup=False, soft_wrap=True)
    out.print()
    what = next(iter(ss[0].metrics)).replace("_", " ")
    name, value = base if base is not None else ("", None)
    out.print(chart(ss, value, what=what, baseline_name=name.split(" (", 1)[0]))
    if show_confusion and pe.mode == LABELS:
        labels = pe.spec.labels
        shown = [shown_label(pe.spec, k) for k in labels]
        for s in ss:
            for cal in (False, True) if s.calibrated is not None else (False,):
                matrix = shot_confusion(pe.runs, s.shots, labels, calibrated=cal)
                kind = "calibrated, " if cal else ""
                seeds = f"{s.runs} seed{'' if s.runs == 1 else 's'}"
                title = f"{s.shots}-shot ({kind}summed over {seeds})"
                out.print(confusion_table(matrix, labels, title, rows=shown))


def _unfinished_note(out: Console, ss) -> None:
    if any(not s.complete for s in ss):
        out.print("[dim]* unfinished: the figures cover the examples scored so far.[/]")


def record(session: EvalSession, model: str, interrupted: bool) -> dict:
    """The JSON written by --output: one prompt's record, or {"prompts": [...]} for several."""
    records = [_record(session, pe, model, interrupted) for pe in session.prompts]
    if len(records) == 1:
        return records[0]
    return {"model": model, "interrupted": interrupted, "prompts": records}


def _record(session: EvalSession, pe: PromptEval, model: str, interrupted: bool) -> dict:
    source = str(session.data_path) if session.task is None else f"--generate {session.task.name}"
    meta = {
        "task": pe.name,
        "template": pe.spec.template,
        "mode": pe.mode,
        "model": model,
        "data": source,
        "pool": session.pool_name(),
        "variables": pe.variables,
    }
    if session.scoring:
        meta["scoring"] = session.scoring
    if pe.mode == CHOICES:
        meta["choices_from"] = list(pe.choices)
    if pe.mode == GENERATE:
        meta["sampling"] = _sampling(pe)
    if pe.retrieval is not None:
        meta["retrieval"] = {
            "method": pe.retrieval,
            "context": str(session.index.root),
            "k": session.context_k,
            "passages": [[h.as_dict() for h in hits] for hits in pe.passages],
        }
    if pe.select is not None:
        meta["select"] = pe.select
        if pe.chosen:  # each example's demonstrations, as lines of the pool, nearest last
            meta["chosen_demonstrations"] = [[pe.pool[j].line for j in c] for c in pe.chosen]
    words = {k: pe.spec.words(k) for k in pe.spec.labels} if pe.spec.label_words else None
    return to_json(
        pe.runs,
        pe.spec.labels,
        session.config,
        meta,
        [e.line for e in pe.test],
        [e.label for e in pe.test],
        interrupted,
        words,
    )


def _sampling(pe: PromptEval) -> dict:
    p = pe.params
    return {
        "temperature": p.temperature,
        "top_k": p.top_k,
        "top_p": p.top_p,
        "min_p": p.min_p,
        "max_tokens": p.max_tokens,
        "stop": list(p.stop),
        **{n: _plain(getattr(p, n)) for n in STEERING if getattr(p, n) not in (None, ())},
    }


STEERING = ("grammar", "json_schema", "choices", "logit_bias")  # only where one is set


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def write_plot(session: EvalSession, path: Path) -> None:
    """The chart of the first prompt (or the only one) as a PNG."""
    from gptplay.evaluate.plot import write_png

    pe = session.prompts[0]
    base = baseline(pe)
    write_png(path, summaries(session, pe), 0.0 if base is None else base[1], session.title(pe))
