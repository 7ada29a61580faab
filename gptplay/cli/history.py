"""`gptplay history [show|search|delete|clear]` and the `--no-history` option of every command."""

from __future__ import annotations

import json
import re
import time
from typing import Annotated

import typer

from gptplay.errors import UsageError, excerpt


def parse_run_id(text: str | int) -> int:
    """Typer's parser for a run id argument: exit 2 and one line for anything else."""
    from gptplay.history.runs import parse_id

    return parse_id(text)


def parse_limit(text: str | int) -> int:
    """Typer's parser for -n: a whole number from 1 up to SQLite's largest integer."""
    from gptplay.history.runs import as_id

    value = as_id(text)
    if value is None:
        raise UsageError(f"-n {excerpt(str(text))} is not a count of runs.", hint="like -n 50")
    return value


NoHistoryOpt = Annotated[
    bool,
    typer.Option(
        "--no-history",
        help="Do not record this run in the history (also: history = false in config.toml).",
    ),
]
ResumeOpt = Annotated[
    str | None,
    typer.Option(
        "--resume",
        metavar="ID",
        help="Continue a recorded chat: its conversation id, or the id of one of its turns.",
        rich_help_panel="Chat",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON Lines, one record per run.")]
LimitOpt = Annotated[
    int, typer.Option("-n", "--limit", metavar="N", parser=parse_limit, help="How many runs.")
]
RunIdArg = Annotated[
    int,
    typer.Argument(metavar="ID", parser=parse_run_id, help="The run's id (see `gptplay history`)."),
]
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EARLIEST = -62135596800.0  # 0001-01-01 00:00 UTC, the earliest date --since takes

history_app = typer.Typer(
    help="Every run recorded: list, show, search, delete. `gptplay replay ID` runs one again.",
    no_args_is_help=False,
)


def parse_since(text: str, now: float | None = None) -> float:
    """'30m', '2h', '3d', '1w' ago, or a date 'YYYY-MM-DD[ HH:MM]' (local time)."""
    import datetime as dt

    now = time.time() if now is None else now
    m = re.fullmatch(r"\s*([0-9]{1,12})\s*([mhdw])\s*", text)
    if m:
        ago = int(m.group(1)) * UNITS[m.group(2)]
        if ago > now - EARLIEST:
            raise UsageError(
                f"--since {excerpt(text)} reaches back before the year 1.",
                hint="like --since 2h, --since 3d or --since 2026-12-01",
            )
        return now - ago
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            when = dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
        try:
            return when.timestamp()
        except (ValueError, OverflowError, OSError):  # year 1: before any run anyway
            return (when - dt.datetime(1970, 1, 1)).total_seconds()
    raise UsageError(
        f"--since {excerpt(text)} is not a time.",
        hint="like --since 2h, --since 3d or --since 2026-12-01",
    )


def _consoles():
    from rich.console import Console

    return Console(highlight=False), Console(stderr=True, highlight=False)


def _print_runs(runs, json_out: bool, title: str) -> None:
    from gptplay.cli.history_view import runs_table

    if json_out:
        for r in runs:
            print(json.dumps(r.summary_json(), ensure_ascii=False))
        return
    out, err = _consoles()
    if not runs:
        err.print("[dim]no runs recorded (yet).[/]")
        return
    out.print(runs_table(runs, title, out.width))


@history_app.callback(invoke_without_command=True)
def history_list(
    ctx: typer.Context,
    n: LimitOpt = 20,
    task: Annotated[str | None, typer.Option("--task", help="Only runs of this prompt.")] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Only runs whose model name or path has this.")
    ] = None,
    command: Annotated[
        str | None,
        typer.Option("--command", help="Only complete, fewshot, tokens, chat, tui, eval, replay."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only runs since 2h, 3d, 2026-12-01, ...")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List recorded runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from gptplay.history import runs

    filters = runs.Filters(
        limit=n,
        task=task,
        model=model,
        command=command,
        since=parse_since(since) if since else None,
    )
    _print_runs(runs.listing(filters), json_out, "History (newest first)")


@history_app.command("show")
def history_show(
    run_id: RunIdArg,
    alts: Annotated[
        int, typer.Option("--alts", min=0, max=20, help="Also each token's top K alternatives.")
    ] = 0,
    no_prompt: Annotated[bool, typer.Option("--no-prompt", help="Leave the prompt out.")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="The record, then one JSON line per token.")
    ] = False,
) -> None:
    """Show a run as it was shown: its prompt, its tokens shaded by probability, its summary."""
    from gptplay.history import runs

    run = runs.load(run_id)
    if json_out:
        from gptplay.cli.output import event_json

        print(json.dumps({"type": "run", **run.to_json()}, ensure_ascii=False))
        for event in run.events:
            print(json.dumps(event_json(event), ensure_ascii=False))
        return
    from gptplay.cli.history_view import print_run

    out, _ = _consoles()
    print_run(out, run, alts, prompt=not no_prompt)


@history_app.command("search")
def history_search(
    text: Annotated[str, typer.Argument(help="Words to find in prompts and outputs.")],
    n: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """Find runs whose prompt or output holds every word of TEXT (best match first)."""
    from gptplay.history import runs

    _print_runs(runs.search(text, n), json_out, f"Runs matching {text!r}")


@history_app.command("delete")
def history_delete(
    run_ids: Annotated[
        list[int], typer.Argument(metavar="ID...", parser=parse_run_id, help="Runs to delete.")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="One JSON record per id.")] = False,
) -> None:
    """Delete runs from the history."""
    from gptplay.history import runs, store

    missing = []
    with runs.opened() as conn:
        for run_id in run_ids:
            done = store.delete(conn, run_id)
            if json_out:
                print(json.dumps({"id": run_id, "deleted": done}))
            elif not done:
                missing.append(run_id)
    if missing:
        raise UsageError(
            f"no run {', '.join(map(str, missing))} in the history (the others were deleted).",
            hint="`gptplay history` lists the runs.",
        )
    if not json_out:
        _consoles()[1].print(f"deleted {len(run_ids)} run(s)")


@history_app.command("clear")
def history_clear(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Say how many as JSON.")] = False,
) -> None:
    """Delete every recorded run."""
    from gptplay.history import runs, store

    with runs.opened() as conn:
        total = store.count(conn)
        if not yes and total and not typer.confirm(f"Delete all {total} recorded runs?"):
            raise typer.Exit(1)
        deleted = store.clear(conn)
    if json_out:
        print(json.dumps({"deleted": deleted}))
    else:
        _consoles()[1].print(f"deleted {deleted} run(s) from {store.db_path()}", soft_wrap=True)


def resumed(ref: str, load_file) -> tuple:
    """`chat --resume`: the recorded conversation and its id."""
    from gptplay import history

    if load_file is not None:
        raise UsageError("give --load FILE or --resume ID, not both.")
    return history.recorded_conversation(ref)


def record_eval_session(
    session, engine, table: str, interrupted: bool, no_history: bool, resolved=None
) -> None:
    """Record an eval run: its settings (the model's and the evaluation's) and its table."""
    import dataclasses

    from gptplay import history

    if not history.enabled(no_history):
        return
    try:
        from gptplay.evaluate import summarize

        summaries = [dataclasses.asdict(s) for s in summarize(session.runs, session.spec.labels)]
    except Exception:  # noqa: BLE001 - the table text is the record; these are a bonus
        summaries = []
    base = resolved.model() if resolved is not None else {}
    settings = history.settings_dict(
        base,
        engine,
        **dataclasses.asdict(session.config),
        data=str(getattr(session, "data_path", session.data)),
        pool=session.pool_source,
        limit=session.limit,
        variables=session.variables,
        context=getattr(session, "context", None),
        context_k=getattr(session, "context_k", None),
        retrieval=list(getattr(session, "retrieval", ())),
        select=list(getattr(session, "select", ())),
    )
    history.record_eval(
        engine,
        session.spec.name,
        settings,
        summaries,
        table.rstrip(),
        prompt=session.spec.template,
        prompt_file=session.spec.source,
        finish="interrupted" if interrupted else "done",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(history_app, name="history")
    from gptplay.cli.replay import replay

    app.command()(replay)
