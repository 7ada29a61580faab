"""Every run recorded: a SQLite history of prompts, settings, tokens and their probabilities.

The front-ends call one of the helpers below once a run has ended (never on the token
path). Nothing here raises into a run: a locked, damaged or unwritable database gives one
line of warning and the run goes on.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from gptplay.history.record import (
    Warn,
    build,
    edit_latest_turn,
    enabled,
    interrupted,
    settings_dict,
    write,
)

__all__ = [
    "chat_editor",
    "chat_recorder",
    "enabled",
    "new_conversation_id",
    "record_eval",
    "record_scored",
    "recording",
    "settings_dict",
    "write",
]


@contextmanager
def recording(
    stream,
    command: str,
    prompt: str,
    engine,
    settings: Mapping[str, object],
    *,
    on: bool = True,
    warn: Warn | None = None,
    **fields,
) -> Iterator[None]:
    """Record ``stream``'s run when the block ends, also when Ctrl-C or an exit ends it."""
    error: BaseException | None = None
    try:
        yield
    except BaseException as exc:
        error = exc
        raise
    finally:
        completion = getattr(stream, "completion", None)
        if on and completion is not None:
            finish = "interrupted" if interrupted(error) else None
            write(
                lambda: build(
                    command, prompt, engine, settings, completion, finish=finish, **fields
                ),
                warn,
            )


def record_scored(
    command: str,
    text: str,
    engine,
    scored: Sequence,
    settings: Mapping[str, object],
    *,
    on: bool = True,
    warn: Warn | None = None,
) -> int | None:
    """`tokens --probs`: each token of the text with the probability the model gave it."""
    if not on:
        return None
    from gptplay.engine.types import TokenEvent

    def make() -> dict:
        events = [TokenEvent(t.id, t.bytes, t.text, t.logprob, tuple(t.top)) for t in scored]
        record = build(command, text, engine, settings, events=events, finish="scored")
        record["prompt_tokens"] = len(events)
        record["output"] = ""  # the text is the prompt; the tokens are its own
        return record

    return write(make, warn)


def record_eval(
    engine,
    task: str,
    settings: Mapping[str, object],
    summaries: Sequence[Mapping[str, object]],
    table: str,
    *,
    prompt: str = "",
    prompt_file: Path | str | None = None,
    finish: str = "done",
    on: bool = True,
    warn: Warn | None = None,
) -> int | None:
    """An eval run: its settings and its summary table (the predictions stay in --output)."""
    if not on:
        return None

    def make() -> dict:
        extra = {"summaries": list(summaries), "table": table}
        record = build(
            "eval", prompt, engine, settings, task=task, prompt_file=prompt_file,
            finish=finish, extra=extra,
        )  # fmt: skip
        from gptplay.history.runs import scores_line

        line = scores_line(list(summaries))
        record["output"] = f"{line}\n\n{table}" if line else table
        return record

    return write(make, warn)


def new_conversation_id() -> str:
    return uuid.uuid4().hex[:12]


def chat_recorder(command: str, on: bool = True, warn: Warn | None = None):
    """A ChatSession.on_reply hook recording each finished turn with its conversation id."""
    if not on:
        return None

    def make(reply) -> dict:
        session = reply.session
        if getattr(session, "conversation_id", None) is None:
            session.conversation_id = new_conversation_id()
        conv = session.conversation
        resolved = session.resolved() if hasattr(session, "resolved") else session.params
        settings = settings_dict(resolved, session.engine, top=session.top, probs=session.probs)
        extra = {
            "template": session.format.name,
            "system": conv.system,
            "messages": [m.to_json() for m in conv.messages],
            "context_start": conv.context_start,
        }
        return build(
            command,
            reply.prompt.text,
            session.engine,
            settings,
            reply.completion,
            task=session.format.name,
            prompt_ids=list(reply.prompt.ids),
            conversation=session.conversation_id,
            extra=extra,
        )

    def on_reply(reply) -> None:
        write(lambda: make(reply), warn)

    return on_reply


def chat_editor(on: bool = True, warn: Warn | None = None):
    """A ChatSession.on_edit hook: after an /undo, a resume brings the chat back as it is."""
    if not on:
        return None

    def on_edit(session) -> None:
        if session.conversation_id is None:
            return  # nothing recorded yet: nothing to bring back
        conv = session.conversation
        state = {
            "system": conv.system,
            "messages": [m.to_json() for m in conv.messages],
            "context_start": conv.context_start,
        }
        edit_latest_turn(session.conversation_id, state, warn)

    return on_edit


def recorded_conversation(ref: str | int):
    """A recorded chat to resume: by conversation id or by the id of one of its turns.

    Returns (Conversation, conversation id) as of its latest recorded turn, with the edits
    made after it (an /undo: ``extra.edited``); HistoryError when there is no such chat.
    """
    from gptplay.chat.conversation import FORMAT, VERSION, ChatFileError, Conversation
    from gptplay.history import runs

    text = str(ref).strip()
    latest = runs.latest_turn(text)
    run_id = runs.as_id(text)
    if latest is None and run_id is not None:
        run = runs.load(run_id)
        latest = runs.latest_turn(run.conversation) if run.conversation else None
    if latest is None:
        raise runs.HistoryError(
            f"there is no recorded chat {text!r} in the history.",
            hint="`gptplay history --command chat` lists chat turns and their conversations.",
        )
    latest = latest.intact()
    extra = latest.extra.get("edited", latest.extra)  # an /undo after the turn, if any
    saved = {"format": FORMAT, "version": VERSION, "system": extra.get("system")}
    try:  # a row is data from disk: the same strict check as a conversation file
        conv, _ = Conversation.from_json(
            {**saved, "messages": extra.get("messages", [])}, f"run {latest.id}"
        )
    except ChatFileError as exc:
        raise runs.HistoryError(
            exc.message, hint=f"`gptplay history show {latest.id}` shows what was recorded."
        ) from None
    start = extra.get("context_start")
    start = start if isinstance(start, int) and not isinstance(start, bool) else 0
    conv.context_start = min(max(0, start), len(conv.messages))
    return conv, latest.conversation
