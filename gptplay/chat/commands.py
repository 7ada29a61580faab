"""Slash commands shared by `gptplay chat` and the TUI's Chat tab: parsing and settings.

No terminal or screen code; ``gptplay.chat.slash`` runs the commands for both front ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from gptplay.chat.session import ChatSession
from gptplay.chat.templates import ChatFormat
from gptplay.engine.types import SamplingParams, TokenEvent
from gptplay.errors import UsageError, did_you_mean
from gptplay.render import plural
from gptplay.settings import (
    Layer,
    SettingError,
    SettingsStack,
    names_for,
    parse_text,
    prompt_layer,
    unescape,
)
from gptplay.settings.check import join_list
from gptplay.settings.schema import CONSTRAINTS, DEFAULTS, SAMPLING, SESSION

SETTABLE = ("top",) + names_for(SESSION, SAMPLING)
WHOLE_LINE = ("grammar", "json_schema")  # /set grammar=... takes the rest of the line
STEERING = (*CONSTRAINTS, "logit_bias")  # explained on lines of their own in /help


def _wrap(text: str, width: int = 66) -> str:
    """Break a long list of names onto lines of about ``width`` characters."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


# (command, usage, what it does): each front end lists the ones it supports
COMMANDS = (
    ("help", "/help", "this list"),
    ("reset", "/reset", "forget the conversation (the system prompt stays)"),
    ("system", "/system [TEXT]", "show or set the system prompt"),
    (
        "set",
        "/set [KEY=VALUE]",
        _wrap(
            "show or change settings: "
            + ", ".join(n for n in SETTABLE if n not in ("stop", "seed", "top", *STEERING))
        )
        + ",\nseed (a number or none), top (alternatives computed per token),\n"
        "stop (a stop sequence, \\n for a newline; stop=A stop=B for several;\n"
        "stop=none for none, stop=default for the template's),\n"
        'choices=A,B and logit_bias=" positive=ban,1234=2" (quoted: spaces kept),\n'
        "grammar=GBNF|FILE and json_schema=JSON|FILE (the rest of the line); none clears",
    ),
    ("probs", "/probs on|off", "shade replies by probability (and compute alternatives) or not"),
    ("alts", "/alts [K]", "each token of the last reply with its top K alternatives"),
    ("retry", "/retry", "a new sample of the last reply"),
    ("undo", "/undo", "remove the last exchange"),
    ("save", "/save FILE", "save the conversation: FILE.json (loadable) or FILE.md (markdown)"),
    ("load", "/load FILE", "continue a conversation saved as JSON"),
    ("show-prompt", "/show-prompt", "the exact text the model received for the last reply"),
    ("exit", "/exit", "leave"),
)


def help_text(names: Iterable[str], width: int = 20) -> str:
    """The usage lines of the named commands, aligned (continuation lines indented)."""
    wanted = set(names)
    lines = []
    for name, usage, what in COMMANDS:
        if name in wanted:
            first, *rest = what.split("\n")
            lines.append(f"{usage:<{width}}{first}")
            lines += [" " * width + line for line in rest]
    return "\n".join(lines)


def parse(line: str, known: Iterable[str]) -> tuple[str, str] | None:
    """``(name, argument)`` for a slash command, None for a message; unknown ones raise."""
    text = line.strip()
    if not text.startswith("/"):
        return None
    name, _, arg = text[1:].partition(" ")
    name = name.lower()
    names = list(known)
    if name not in names:
        close = did_you_mean(name, names, prefix="/", n=1)
        hint = f"{close} " if close else ""
        raise UsageError(f"unknown command /{name}.", hint=f"{hint}/help lists them.")
    return name, arg.strip()


def format_layer(fmt: ChatFormat) -> Layer:
    """A chat format's [params] and stop sequences: the prompt layer of a chat's settings."""
    spec = getattr(fmt, "spec", None)  # a scaffold is a prompt file; a template is not
    where = str(spec.source) if spec is not None and spec.source else fmt.name
    return prompt_layer(fmt.params, fmt.stop, where)


def default_params(fmt: ChatFormat, layers: SettingsStack | None = None) -> SamplingParams:
    """The chat's sampling: default < config.toml < the format's [params] < flags."""
    return (layers or SettingsStack()).resolve(format_layer(fmt)).sampling()


def apply_set(session: ChatSession, arg: str) -> None:
    """Change settings from ``KEY=VALUE ...`` all at once: one bad pair changes nothing."""
    params, top = session.params, session.top
    stops: list[str] = []
    for pair in split_pairs(arg):
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in SETTABLE:
            raise UsageError(
                f"/set {pair}: expected KEY=VALUE with KEY one of {', '.join(SETTABLE)}."
            )
        if key == "stop":
            stops.append(value)
        elif key == "top":
            top = int(number(key, value, int))
            if not 0 <= top <= 100:
                raise UsageError(f"/set top={value}: must be in [0, 100].")
        else:
            params = _with(params, key, value if key == "logit_bias" else value.strip())
    if stops:
        params = replace(params, stop=_stops(stops, session.format.stop))
    session.params, session.top = params, top


def split_pairs(arg: str) -> list[str]:
    """``KEY=VALUE`` pairs split at spaces outside double quotes, the quotes removed.

    ``/set logit_bias=" positive=ban" choices=yes,no``: a value may hold spaces (a token's
    leading one) when quoted; backslashes are kept for the setting itself (stop's ``\\n``).
    """
    import re

    key = arg.strip().partition("=")[0].strip().replace("-", "_")
    if key in WHOLE_LINE:  # a grammar or a schema holds spaces and quotes of its own
        return [arg.strip()]
    return [p.replace('"', "") for p in re.findall(r'(?:[^\s"]+|"[^"]*")+', arg)]


def settings_line(session: ChatSession) -> str:
    """Every setting as KEY=VALUE, the stop sequences last."""
    p = session.params
    shown = [f"{k}={brief(k, getattr(p, k))}" for k in SETTABLE if k not in ("top", "stop")]
    stops = [f"stop={x!r}" for x in p.stop] or ["stop=none"]
    return " ".join([*shown, f"top={session.top}", *stops])


def brief(name: str, value: object) -> str:
    """A setting's value in a line: lists comma-joined, a long grammar or schema cut short."""
    if isinstance(value, tuple):
        joined = join_list(value) if value else "none"
        # quoted as /set reads it back where an entry's own spaces matter (" yes=ban")
        return f'"{joined}"' if any(v != v.strip() for v in value) else joined
    text = str(value)
    if name in CONSTRAINTS and value is not None:
        one = " ".join(text.split())
        return repr(one if len(one) <= 40 else one[:39] + "…")
    return text


def prompt_shown(session: ChatSession) -> tuple[str, str]:
    """The exact prompt of the last reply (or the next one's) and a note saying which."""
    last = session.last_prompt
    if last is not None and not session.conversation.awaiting_reply:
        return last.text, f"{plural(len(last.ids), 'token')}, as last sent"
    return session.preview(), "the next message goes where … stands"


def strip_lead(events: Iterable[TokenEvent]) -> Iterator[tuple[TokenEvent, str]]:
    """Yield each event's text with the reply's leading whitespace dropped (the role's space)."""
    started = False
    for event in events:
        text = event.text if started else event.text.lstrip()
        started = started or bool(text)
        yield event, text


def _stops(values: list[str], default: tuple[str, ...]) -> tuple[str, ...]:
    """The stops of one /set: 'none' clears them, 'default' is the template's, the rest add."""
    words = [v.lower() for v in values]
    for word in ("none", "default"):
        if word in words and len(values) > 1:
            raise UsageError(
                f"/set stop={word} goes alone: it replaces every stop sequence.",
                hint="/set stop=none (no stops), or /set stop=A stop=B (several).",
            )
    if words == ["none"]:
        return ()
    if words == ["default"]:
        return tuple(default)
    if "" in values:
        raise UsageError(
            "/set stop= is empty.",
            hint="/set stop=none for no stops, stop=default for the template's.",
        )
    return tuple(dict.fromkeys(unescape(v) for v in values))  # each once, in order


def _with(params: SamplingParams, key: str, value: str) -> SamplingParams:
    """``params`` with one setting changed and checked (a UsageError naming it otherwise)."""
    try:
        new = parse_text(key, value)
        if key in CONSTRAINTS and new not in (None, ()):  # one constraint replaces another
            params = replace(params, **{n: DEFAULTS[n] for n in CONSTRAINTS})
    except SettingError as exc:
        if exc.problem is not None:  # what is wrong inside the value, in its own words
            raise UsageError(f"/set {key}=…: {exc.problem}.") from None
        reason = exc.describe(key).split(" is out of range: ", 1)[-1]
        if not exc.out_of_range:
            reason = f"expected {exc.reason}"
        raise UsageError(f"/set {key}={value}: {reason}.") from None
    return replace(params, **{key: new})


def number(key: str, value: str, kind: type) -> int | float:
    """``value`` as a ``kind`` (int or float); a UsageError naming the setting otherwise."""
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise UsageError(f"/set {key}={value}: expected {what}.") from None
