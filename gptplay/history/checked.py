"""A stored row is data from disk: each column type-checked before anything reads it.

Another program, a byte flip or a hand edit can leave any value in any column (SQLite
keeps what it is given). ``checked`` returns the row's values with every bad one replaced
by a harmless default, and the list of what was wrong: a listing marks such a run and goes
on; showing, replaying or resuming it is one line naming the run.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping

from gptplay.history import codec

TEXT = ("command", "prompt", "output")
OPTIONAL_TEXT = ("task", "model", "model_path", "model_fingerprint", "build", "finish")
OPTIONAL_TEXT += ("conversation", "prompt_hash")
OPTIONAL_INT = ("model_size", "seed", "threads", "prompt_tokens", "parent")
OBJECTS = ("settings", "timings", "extra")
# The keys of `extra` and of `settings` that gptplay reads back itself, with their types.
EXTRA_TYPES: dict[str, tuple[type, ...]] = {
    "comparison": (str,),
    "label": (str,),
    "index": (int,),
    "axes": (dict,),
    "continuation": (int,),
    "table": (str,),
    "summaries": (list,),
    "kind": (str,),
    "prompt_tokens_base": (int,),
    "template": (str,),
    "system": (str, type(None)),
    "messages": (list,),
    "context_start": (int,),
    "edited": (dict,),
    "grammar_complete": (bool,),
    "grammar_refused": (int,),
    "schema_valid": (bool,),
    "schema_problem": (str,),
}
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "top": (int,),
    "alts": (int,),
    "probs": (bool,),
    "sampled": (bool,),
}
TIMING_KEYS = (
    "elapsed_s",
    "time_to_first_token_s",
    "tokens_per_s",
    "cached_tokens",
    "unshown_tokens",
)
MAX_JSON_BYTES = 16 * 1024 * 1024  # a settings or extra column; a chat keeps its messages


def _kind(value: object) -> str:
    """What a bad value is, for the message (never the value itself: it may be huge)."""
    if isinstance(value, (bytes, str)):
        return f"{type(value).__name__} of {len(value)}"
    if isinstance(value, float):
        return repr(value)[:24]
    return type(value).__name__


def _text(value: object) -> str | None:
    """Text as stored, or None where it is not text (invalid UTF-8 was read as surrogates)."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _time(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        dt.datetime.fromtimestamp(value)
    except (ValueError, OverflowError, OSError):
        return None
    return float(value)


def _object(raw: object) -> tuple[dict, str | None]:
    """A JSON column as a dict, or {} and what is wrong with it."""
    if raw is None:
        return {}, None
    if not isinstance(raw, str):
        return {}, f"is a {_kind(raw)}, not JSON text"
    if len(raw) > MAX_JSON_BYTES:
        return {}, f"is {len(raw):,} characters of JSON, more than gptplay writes"
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        return {}, f"is not JSON ({str(exc)[:60]})"
    if not isinstance(value, dict):
        return {}, f"is JSON {type(value).__name__}, not an object"
    return value, None


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _typed(values: Mapping, types: Mapping[str, tuple[type, ...]], where: str, problems) -> dict:
    """The mapping without the known keys whose values have the wrong type (each one noted)."""
    out = dict(values)
    for key, allowed in types.items():
        if key not in out:
            continue
        value = out[key]
        bad_bool = isinstance(value, bool) and bool not in allowed
        if bad_bool or not isinstance(value, allowed):
            problems.append(f"{where}.{key} is a {_kind(value)}")
            del out[key]
    return out


def _messages(messages: list, problems: list[str]) -> list:
    for n, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        content = m.get("content") if isinstance(m, dict) else None
        if not isinstance(role, str) or not isinstance(content, str):
            what = "role" if not isinstance(role, str) else "content"
            problems.append(f"extra.messages[{n}] has no text {what}")
            return []
    return messages


def _timings(timings: dict, problems: list[str]) -> dict:
    for key in TIMING_KEYS:
        value = timings.get(key)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and not (number and math.isfinite(value) and value >= 0):
            problems.append(f"timings.{key} is a {_kind(value)}")
            timings = {k: v for k, v in timings.items() if k != key}
    return timings


def checked(values: Mapping[str, object]) -> tuple[dict, list[str]]:
    """The row's values made safe to read, and what was wrong with them (empty: nothing)."""
    out = dict(values)
    problems: list[str] = []
    created = _time(values.get("created"))
    if created is None:
        problems.append(f"created is {_kind(values.get('created'))}, not a time")
    out["created"] = created
    for name in TEXT + OPTIONAL_TEXT:
        value = values.get(name)
        text = _text(value)
        if text is None and (value is not None or name in TEXT):
            what = "not UTF-8" if isinstance(value, str) else f"a {_kind(value)}, not text"
            problems.append(f"{name} is {what}")
            text = "" if name in TEXT else None
        out[name] = text
    for name in (*OPTIONAL_INT, "n_tokens"):
        value = values.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{name} is a {_kind(value)}, not a whole number")
            value = None
        out[name] = value if value is not None or name != "n_tokens" else 0
    for name in OBJECTS:
        out[name], problem = _object(values.get(name))
        if problem:
            problems.append(f"{name} {problem}")
    out["extra"] = _typed(out["extra"], EXTRA_TYPES, "extra", problems)
    out["settings"] = _typed(out["settings"], OPTION_TYPES, "settings", problems)
    out["timings"] = _timings(out["timings"], problems)
    if "messages" in out["extra"]:
        out["extra"]["messages"] = _messages(out["extra"]["messages"], problems)
    return out, problems


def tokens(values: Mapping[str, object], problems: list[str], only: tuple[str, ...] = ()) -> dict:
    """The run's token blobs decoded (events, prompt_ids, context), or ``only`` those
    columns; a bad blob is noted."""
    out: dict[str, object] = {"events": (), "prompt_ids": None, "context": ()}
    for column, key, decode in (
        ("tokens", "events", codec.decode),
        ("prompt_ids", "prompt_ids", lambda b: tuple(codec.decode_ids(b))),
        ("context_tokens", "context", codec.decode),
    ):
        if only and column not in only:
            continue
        blob = values.get(column)
        if blob is None or blob == b"":
            continue
        try:
            out[key] = decode(blob)
        except codec.CodecError as exc:
            problems.append(f"{column}: {exc}")
    return out
