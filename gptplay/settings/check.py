"""One validation of a setting's value, shared by config.toml, [params], flags, TUI and `/set`.

``validate`` returns the value in its canonical form or raises SettingError, which knows
why (wrong type, or out of range) but not where: each caller names the place its own way
(``file:line:col: sampling.top_p``, ``--top-p``, ``/set top_p=``, the TUI's field).
"""

from __future__ import annotations

import math
import re

from gptplay.errors import UsageError
from gptplay.settings.schema import BY_NAME, Setting

TYPE_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a non-empty string",
    tuple: "a list of non-empty strings",
}


class SettingError(UsageError):
    """A value a setting does not take; ``describe`` words it for one place."""

    def __init__(
        self,
        setting: Setting,
        value: object,
        reason: str,
        out_of_range: bool,
        problem: str | None = None,
    ) -> None:
        self.setting, self.value, self.reason = setting, value, reason
        self.out_of_range = out_of_range
        self.problem = problem  # what is wrong inside a value (a grammar's syntax error)
        super().__init__(self.describe(setting.name))

    def describe(self, label: str, shown: str | None = None, sep: str = " = ") -> str:
        """``label = value is out of range: rule`` or ``label must be a number, not 'x'``."""
        if self.problem is not None:
            return f"{label}: {self.problem}"
        shown = shown if shown is not None else _show(self.value)
        if self.out_of_range:
            return f"{label}{sep}{shown} is out of range: {self.reason}"
        return f"{label} must be {self.reason}, not {shown}"


def _show(value: object) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf (repr is the same; kept explicit)
    return repr(list(value) if isinstance(value, tuple) else value)


def validate(name: str, value: object) -> object:
    """``value`` checked against the table; ints become floats where a float is wanted."""
    s = BY_NAME[name]
    if value is None and s.optional:
        return None
    if s.kind is tuple:
        if name == "logit_bias" and isinstance(value, dict):  # a TOML table
            from gptplay.settings.bias import from_table

            value = from_table(value)
        if isinstance(value, str):
            value = (value,)
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) and v for v in value)
        if not ok:
            raise SettingError(s, value, TYPE_NAMES[tuple], False)
        if name == "choices":
            _check_choices(s, tuple(value))
        if name == "logit_bias":
            from gptplay.settings.bias import BiasProblem, parse

            try:
                parse(value)
            except BiasProblem as exc:
                raise SettingError(s, value, "", False, problem=str(exc)) from None
        return tuple(value)
    if s.kind is str:
        if not isinstance(value, str) or not value.strip():
            raise SettingError(s, value, TYPE_NAMES[str], False)
        if name == "grammar":
            from gptplay.settings.gbnf import GrammarSyntaxError, check_gbnf

            try:
                check_gbnf(value)
            except GrammarSyntaxError as exc:
                raise SettingError(s, value, "", False, problem=str(exc)) from None
        if name == "json_schema":
            from gptplay.settings.json_schema import SchemaProblem, parse_schema

            try:
                parse_schema(value)
            except SchemaProblem as exc:
                raise SettingError(s, value, "", False, problem=str(exc)) from None
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingError(s, value, TYPE_NAMES[s.kind], False)
    if s.kind is int and not isinstance(value, int):
        raise SettingError(s, value, TYPE_NAMES[int], False)
    if not in_range(s, value):
        raise SettingError(s, value, s.rule(), True)
    return float(value) if s.kind is float else value


def _check_choices(s: Setting, choices: tuple[str, ...]) -> None:
    """No choice twice (an empty list is no constraint, the default)."""
    seen: set[str] = set()
    for c in choices:
        if c in seen:
            raise SettingError(s, choices, "", False, problem=f"{c!r} is given twice")
        seen.add(c)


def in_range(s: Setting, value: float) -> bool:
    """Whether a number lies in the setting's range (nan never does)."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    low, high = s.bounds()
    if low is not None and (value <= low if s.low_open else value < low):
        return False
    return not (high is not None and (value >= high if s.high_open else value > high))


NONE_WORDS = ("", "none", "random", "default")


def parse_text(name: str, text: str) -> object:
    """A value typed as text (a TUI field, `/set`): '' or 'none' is None where None is allowed.

    The output constraints read as their flags do: a grammar or a JSON schema is its text or
    a file's path, choices are split at commas, logit-bias entries too (kept exactly as
    typed: a leading space belongs to the token); 'none' clears each of them.
    """
    s = BY_NAME[name]
    raw = text.strip()
    if s.optional and raw.lower() in NONE_WORDS:
        return None
    if name in TEXT_SOURCES:
        return validate(name, TEXT_SOURCES[name](raw))
    if name in ("choices", "logit_bias"):
        if raw.lower() in NONE_WORDS:
            return ()
        kept = raw if name == "choices" else text.strip("\r\n")
        return validate(name, split_list(kept))
    if s.kind is int:
        try:
            return validate(name, int(raw))
        except ValueError:
            raise SettingError(s, raw, "a whole number", False) from None
    if s.kind is float:
        try:
            return validate(name, float(raw))
        except ValueError:
            raise SettingError(s, raw, "a number", False) from None
    if s.kind is tuple:
        return validate(name, (raw,)) if raw else ()
    return validate(name, raw)


def _grammar_source(text: str) -> str:
    from gptplay.settings.gbnf import grammar_source

    return grammar_source(text)


def _schema_source(text: str) -> str:
    from gptplay.settings.json_schema import schema_source

    return schema_source(text)


TEXT_SOURCES = {"grammar": _grammar_source, "json_schema": _schema_source}


def split_list(text: str) -> tuple[str, ...]:
    """Items separated by commas, ``\\,`` a comma inside one; empty items are dropped."""
    parts = [p.replace("\0", ",") for p in text.replace("\\,", "\0").split(",")]
    return tuple(p for p in parts if p.strip())


def join_list(items: tuple[str, ...]) -> str:
    """The text split_list reads back as these items."""
    return ",".join(i.replace(",", "\\,") for i in items)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}


def unescape(text: str) -> str:
    """A stop sequence as typed: '\\n' is a newline (also \\t, \\r, \\\\), for flags and fields."""
    return re.sub(r"\\([ntr\\])", lambda m: _ESCAPES[m.group(1)], text)
