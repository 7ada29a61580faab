"""`gptplay replay ID`: run a recorded run again and say whether the tokens came out the same."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gptplay.cli.history import RunIdArg
from gptplay.errors import UsageError
from gptplay.jsonout import json_line


def compare(old, new) -> dict:
    """Where two token lists part, and how far their log-probabilities moved."""
    a = [e for e in old if e.id >= 0]
    b = [e for e in new if e.id >= 0]
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x.id != y.id), None)
    if first is None and len(a) != len(b):
        first = min(len(a), len(b))
    shared = a[:first] if first is not None else a
    deltas = [
        abs(x.logprob - y.logprob)
        for x, y in zip(shared, b)
        if x.logprob is not None and y.logprob is not None
    ]
    return {
        "identical": first is None,
        "first_difference": first,
        "recorded_tokens": len(a),
        "replayed_tokens": len(b),
        "max_logprob_delta": max(deltas) if deltas else None,
    }


def _verdict(result: dict, old, new) -> str:
    if result["identical"]:
        n = result["recorded_tokens"]
        line = f"identical: {'the token' if n == 1 else f'all {n} tokens'} came out the same"
    else:
        i = result["first_difference"]
        a = [e for e in old if e.id >= 0]
        b = [e for e in new if e.id >= 0]
        was = repr(a[i].text) if i < len(a) else "the end"
        now = repr(b[i].text) if i < len(b) else "the end"
        line = f"different: the tokens part at token {i + 1} (recorded {was}, now {now})"
    if result["max_logprob_delta"] is not None:
        line += f"; largest logprob change {result['max_logprob_delta']:.2g}"
    return line


def _differences(run, engine, threads: int | None, build: str) -> list[str]:
    notes = []
    if run.build and run.build != build:
        notes.append(f"the build differs (recorded {run.build}, now {build})")
    if run.threads and threads and run.threads != threads:
        notes.append(f"the thread count differs (recorded {run.threads}, now {threads})")
    if run.model_fingerprint:
        from gptplay.history.record import model_info

        now = model_info(engine).get("model_fingerprint")
        if now and now != run.model_fingerprint:
            notes.append("the model file differs (size or header hash)")
    return notes


def _model_of(run) -> str:
    from gptplay.models import EMBEDDED_NAME

    if run.model == EMBEDDED_NAME:
        return "default"
    if run.model_path and Path(run.model_path).exists():
        return run.model_path
    if run.settings.get("model"):  # the name it was given (an alias, a Hub name)
        return str(run.settings["model"])
    if run.model:
        return run.model
    raise UsageError(f"run {run.id} does not say which model it used.")


def recorded_settings(run, threads: int | None):
    """The run's settings as resolved settings (a layer named after the run), its seed the one
    that ran and its model the one it ran on; ``threads`` overrides the recorded count."""
    from gptplay.history.record import recorded_values
    from gptplay.settings import Layer, resolve
    from gptplay.settings.schema import FLAG

    values = recorded_values(run.settings, run.seed)
    values["model"] = _model_of(run)
    if threads or run.threads:
        values["threads"] = threads or run.threads
    return resolve([Layer(FLAG, values, f"history run {run.id}")])


def replay(
    ctx: typer.Context,
    run_id: RunIdArg,
    alts: Annotated[int, typer.Option("--alts", min=0, max=20, help="Top K alternatives.")] = 0,
    json_out: Annotated[
        bool, typer.Option("--json", help="One JSON record: the comparison and the new run.")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="CPU threads (default: the recorded run's)."),
    ] = None,
    no_history: Annotated[
        bool, typer.Option("--no-history", help="Do not record the replay itself.")
    ] = False,
) -> None:
    """Run a recorded run again with the same model, settings and seed; compare the tokens."""
    from rich.console import Console

    from gptplay import history, render
    from gptplay.cli import options as o
    from gptplay.history import runs
    from gptplay.history.record import engine_build

    run = runs.load(run_id)
    if run.command in ("eval", "tokens"):
        raise UsageError(
            f"run {run_id} is a `{run.command}` run, which replay does not rerun "
            "(it reruns complete, fewshot, chat and tui runs).",
            hint=f"run `gptplay {run.command}` again with the settings that "
            f"`gptplay history show {run_id}` lists.",
        )
    s = run.settings
    resolved = recorded_settings(run, threads)
    loader = (ctx.obj or {}).get(o.ENGINE_LOADER) if isinstance(ctx.obj, dict) else None
    engine = (loader or o.load)(resolved)
    params = resolved.sampling()
    prompt = list(run.prompt_ids) if run.prompt_ids else run.prompt
    top = int(s.get("top", 5) or 0)
    probs = bool(s.get("probs", True))
    stream = engine.stream(prompt, params, top=top, probs=probs, sampled=bool(s.get("sampled")))
    settings = history.settings_dict(resolved, top=top, probs=probs)
    with history.recording(
        stream, "replay", run.prompt, engine, settings, on=history.enabled(no_history),
        task=run.task, parent=run.id, prompt_ids=run.prompt_ids,
    ):  # fmt: skip
        completion = stream.run()
    now_threads, build = engine_build(engine)
    result = compare(run.events, completion.events)
    notes = _differences(run, engine, now_threads, build)
    if json_out:
        from gptplay.cli.output import summary_json

        record = {"type": "replay", "run": run.id, **result, "notes": notes}
        record["summary"] = summary_json(completion)
        print(json_line(record))
        return
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    body = render.token_text
    for event in completion.events:
        out.print(body(event, probs), end="", soft_wrap=True)
    out.print()
    if alts and probs:
        err.print(render.alternatives_table(completion.events, alts))
    err.print(render.summary_line(completion))
    style = "green" if result["identical"] else "yellow"
    err.print(f"[{style}]{_verdict(result, run.events, completion.events)}[/]", soft_wrap=True)
    for note in notes:
        err.print(f"[dim]note: {note}: tokens may legitimately differ.[/]", soft_wrap=True)
