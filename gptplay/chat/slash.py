"""The chat's one command layer: a typed line in, an Outcome out, for `gptplay chat` and the TUI.

Each front end only draws the Outcome (its notes, a table of alternatives, the prompt, the
turns to show) and streams the reply it carries; the checks, the wording and the changes to
the session are made here, once. A command that fails raises a GptplayError.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gptplay.chat.commands import (
    COMMANDS,
    apply_set,
    help_text,
    number,
    parse,
    prompt_shown,
    settings_line,
)
from gptplay.chat.conversation import Conversation, Message
from gptplay.chat.session import ChatSession, ChatStateError, Reply
from gptplay.engine.base import CancelCheck
from gptplay.engine.types import Completion, TokenEvent
from gptplay.errors import UsageError
from gptplay.render import constraint_note, plural, rate

NAMES = tuple(name for name, _, _ in COMMANDS) + ("quit",)
SAVE_SUFFIXES = {".json": "JSON, loadable with /load", ".md": "markdown"}
MAX_ALTS = 20
INTERRUPTED = "interrupted: the partial reply is kept; /retry for a new one"


@dataclass(frozen=True)
class Note:
    """A line a command answers with; ``notice`` lines are drawn to stand out."""

    text: str
    notice: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a line did, for a front end to draw."""

    notes: tuple[Note, ...] = ()
    user: str | None = None  # a message was sent: draw it as the user's turn
    reply: Callable[[CancelCheck], Reply] | None = None  # stream this reply now
    retry: bool = False  # the reply replaces the last one (drop its drawing)
    alternatives: tuple[tuple[TokenEvent, ...], int] | None = None  # /alts: events and K
    prompt: tuple[str, str] | None = None  # /show-prompt: the text and what it is
    shown: tuple[Message, ...] = ()  # /load: the messages now in the conversation
    redraw: bool = False  # the conversation changed under the transcript
    leave: bool = False


def handle(session: ChatSession | None, line: str, keys: str = "") -> Outcome | None:
    """Run one typed line: a slash command, or a message to send (None for a blank line).

    ``session`` is None while the model loads: only /help answers then. ``keys`` is the
    front end's own line of keys, added to /help.
    """
    text = line.strip()
    if not text:
        return None
    command = parse(text, NAMES)
    if command is None:
        s = _ready(session)
        if s.conversation.awaiting_reply:
            raise ChatStateError(
                "the last message has no reply yet.", hint="/retry answers it, /undo removes it."
            )
        return Outcome(user=text, reply=lambda cancel: s.send(text, cancel))
    name, arg = command
    if name == "help":
        return Outcome(notes=(Note(help_text(NAMES) + (f"\n{keys}" if keys else "")),))
    if name in ("exit", "quit"):
        return Outcome(leave=True)
    return HANDLERS[name](_ready(session), arg)


def after_reply(reply: Reply) -> tuple[Note, ...]:
    """The lines under a finished reply: interrupted or empty, then its figures."""
    assert reply.message is not None and reply.completion is not None
    notes = []
    if not reply.message.content:
        notes.append(Note("(an empty reply)"))
    if reply.message.interrupted:
        notes.append(Note(INTERRUPTED, notice=True))
    notes.append(Note(figures(reply.completion)))
    return tuple(notes)


def dropped_note(reply: Reply) -> Note | None:
    """Said once a reply starts whose prompt lost old messages to fit the context."""
    n = reply.prompt.dropped
    if not n:
        return None
    ctx = reply.session.engine.n_ctx
    return Note(f"dropped the {n} oldest messages to fit the {ctx}-token context", notice=True)


def figures(c: Completion) -> str:
    """A reply's figures: tokens, speed, first-token latency, prompt and cache, finish, seed."""
    ttft = "–" if c.time_to_first_token_s is None else f"{c.time_to_first_token_s:.2f} s"
    return (
        f"{plural(c.tokens, 'token')} · {rate(c)} · first token {ttft} · "
        f"prompt {plural(c.prompt_tokens, 'token')} ({c.cached_tokens} cached) · "
        f"{c.finish_reason} · seed {c.seed}{constraint_note(c)}"
    )


def _ready(session: ChatSession | None) -> ChatSession:
    if session is None:
        raise UsageError("the model is still loading.")
    return session


def _info(text: str, **kwargs) -> Outcome:
    return Outcome(notes=(Note(text),), **kwargs)


# ---- the commands ---------------------------------------------------------------------


def _reset(s: ChatSession, _: str) -> Outcome:
    s.reset()
    return _info("conversation cleared", redraw=True)


def _system(s: ChatSession, arg: str) -> Outcome:
    if not arg:
        return _info(f"system prompt: {s.conversation.system or '(none)'}")
    s.conversation.system = arg
    return _info("system prompt set")


def _set(s: ChatSession, arg: str) -> Outcome:
    if arg:
        apply_set(s, arg)
    return _info(settings_line(s))


def _probs(s: ChatSession, arg: str) -> Outcome:
    if arg.lower() not in ("on", "off"):
        raise UsageError(f"/probs {arg}: say /probs on or /probs off.")
    s.probs = arg.lower() == "on"
    return _info(f"probabilities {arg.lower()}")


def _alts(s: ChatSession, arg: str) -> Outcome:
    completion = s.last_completion
    if completion is None or not completion.events:
        raise UsageError("/alts: there is no reply to show yet.")
    if not any(e.top for e in completion.events):
        raise UsageError(
            "/alts: the last reply was made with probabilities off.", hint="/probs on, then /retry."
        )
    most = max(len(e.top) for e in completion.events)
    k = int(number("K", arg, int)) if arg else min(5, most)
    if not 1 <= k <= MAX_ALTS:
        raise UsageError(f"/alts {arg}: K must be in [1, {MAX_ALTS}].")
    notes = ()
    if k > most:
        notes = (Note(f"the reply has {most} alternatives per token (/set top={k}, then /retry)"),)
    return Outcome(notes=notes, alternatives=(tuple(completion.events), min(k, most)))


def _retry(s: ChatSession, _: str) -> Outcome:
    if not s.conversation.messages:
        raise ChatStateError("there is no reply to retry yet.")
    seed = s.next_retry_seed()
    notes = ()
    if seed is not None:
        n = s.retries + 1
        notes = (Note(f"retry {n}: seed {seed} (the session's seed {s.params.seed} + {n})"),)
    return Outcome(notes=notes, reply=s.retry, retry=True)


def _undo(s: ChatSession, _: str) -> Outcome:
    removed = s.undo()
    text = f"removed {len(removed)} message(s)" if removed else "nothing to undo"
    return _info(text, redraw=bool(removed))


def _save(s: ChatSession, arg: str) -> Outcome:
    if not arg:
        raise UsageError("/save needs a file name: /save chat.json or /save chat.md.")
    path = Path(arg).expanduser()
    kinds = " or ".join(f"{suffix} ({what})" for suffix, what in SAVE_SUFFIXES.items())
    if path.suffix.lower() not in SAVE_SUFFIXES:
        raise UsageError(
            f"/save {arg}: a conversation is saved as {kinds}.",
            hint=f"/save {path.with_suffix('.json')}",
        )
    if not path.parent.is_dir():
        raise UsageError(
            f"/save {arg}: the directory {path.parent} does not exist.",
            hint="create it first, or save somewhere that exists.",
        )
    kind = s.conversation.save(path, s.meta())
    return _info(f"saved {len(s.conversation.messages)} messages to {path} ({kind})")


def _load(s: ChatSession, arg: str) -> Outcome:
    if not arg:
        raise UsageError("/load needs a file name: /load chat.json.")
    conversation, _ = Conversation.load(Path(arg).expanduser())
    s.load(conversation)
    return _info(
        f"loaded {len(conversation.messages)} messages from {arg}",
        shown=tuple(conversation.messages),
        redraw=True,
    )


def _show_prompt(s: ChatSession, _: str) -> Outcome:
    return Outcome(prompt=prompt_shown(s))


HANDLERS: dict[str, Callable[[ChatSession, str], Outcome]] = {
    "reset": _reset,
    "system": _system,
    "set": _set,
    "probs": _probs,
    "alts": _alts,
    "retry": _retry,
    "undo": _undo,
    "save": _save,
    "load": _load,
    "show-prompt": _show_prompt,
}
