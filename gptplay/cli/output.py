"""Printing a token stream to the terminal: shaded text, JSON Lines, or plain text."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console

from gptplay.engine.base import Stream
from gptplay.engine.types import Completion, TokenEvent
from gptplay.jsonout import json_line

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class OutputOptions:
    """How the user asked to see a stream."""

    probs: bool = True
    alts: int = 0
    json: bool = False
    quiet: bool = False
    settings: Mapping[str, object] | None = None  # resolved settings, for the JSON summary


def event_json(event: TokenEvent) -> dict:
    """The JSON Lines record of one token (schema in the README)."""
    record = {
        "type": "token",
        "id": event.id,
        "text": event.text,
        "bytes": event.bytes.hex(),
        "logprob": event.logprob,
        "top": [_alt_json(a) for a in event.top],
    }
    if event.constrained_logprob is not None:
        record["constrained_logprob"] = event.constrained_logprob
    if event.sampled_logprob is not None:
        record["sampled_logprob"] = event.sampled_logprob
    return record


def _alt_json(a) -> dict:
    record = {"id": a.id, "text": a.text, "bytes": a.bytes.hex(), "logprob": a.logprob}
    if a.allowed is not None:
        record["allowed"] = a.allowed
    return record


def summary_json(c: Completion, settings: Mapping[str, object] | None = None) -> dict:
    """The last JSON Lines record; ``settings`` (Resolved.as_dict) with the seed that ran."""
    record = {
        "type": "summary",
        "tokens": c.tokens,
        "prompt_tokens": c.prompt_tokens,
        "tokens_per_s": round(c.tokens_per_s, 3),
        "time_to_first_token_s": None
        if c.time_to_first_token_s is None
        else round(c.time_to_first_token_s, 4),
        "finish_reason": c.finish_reason,
        "seed": c.seed,
        "model": c.model,
        "text": c.text,
    }
    if c.unshown:  # sampled, not shown: a stop sequence's tokens
        record["unshown_tokens"] = c.unshown
    if c.complete is not None:
        record["grammar_complete"] = c.complete
        record["grammar_refused"] = c.refused
    if c.schema_valid is not None:
        record["schema_valid"] = c.schema_valid
        if not c.schema_valid:
            record["schema_problem"] = c.schema_problem
    if settings is not None:
        record["settings"] = {**settings, "seed": c.seed}
    return record


def print_stream(stream: Stream, opts: OutputOptions, out: Console, err: Console) -> Completion:
    """Print each event as it arrives; on Ctrl-C keep what was printed and mark it cancelled."""
    from gptplay import render
    from gptplay.engine.remote.transport import StreamCutError

    interrupted = False
    cut: StreamCutError | None = None
    if not opts.json and opts.probs and out.is_terminal and not opts.quiet:
        err.print(render.legend())
    try:
        for event in stream:
            if opts.json:
                out.file.write(json_line(event_json(event)) + "\n")
                out.file.flush()
            else:
                out.print(render.token_text(event, opts.probs), end="", soft_wrap=True)
                out.file.flush()
    except KeyboardInterrupt:
        interrupted = True
    except StreamCutError as exc:  # a server stopped mid-stream: keep the text, then say why
        cut = exc
    completion = stream.completion
    assert completion is not None
    if interrupted:
        from dataclasses import replace

        completion = replace(completion, finish_reason="interrupted")
    if opts.json:
        summary = summary_json(completion, opts.settings)
        out.file.write(json_line(summary) + "\n")
    else:
        out.print()
        sampled = any(e.sampled_logprob is not None for e in completion.events)
        if (opts.alts or sampled) and opts.probs:  # --sampled alone: its column, no alts
            err.print(render.alternatives_table(completion.events, opts.alts))
        if not opts.quiet:
            err.print(render.summary_line(completion))
    if interrupted:
        err.print("[yellow]interrupted: stopped by Ctrl-C; the text above is kept.[/]")
        sys.exit(EXIT_INTERRUPTED)
    if cut is not None:
        raise cut
    return completion
