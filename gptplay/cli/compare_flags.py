"""`gptplay compare`'s list-valued flags, derived from the settings table.

Every sampling setting that is a number (temperature, top-k, ..., max tokens) and the
model take a comma-separated list here (`-t 0,0.8`, `-m A,B`); the other settings (stop,
seed, ctx, threads, GPU layers) keep their ordinary flags through ``settings_flags``.
A setting added to the table becomes a comparison axis at once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Annotated

import typer

from gptplay.errors import UsageError
from gptplay.settings import SETTINGS, Setting
from gptplay.settings.check import SettingError, parse_text
from gptplay.settings.schema import CONSTRAINTS, DEFAULTS, FLAG, SAMPLING

VARY = "Variants (comma-separated lists are crossed)"
MAX_VARIANTS = 256  # the most variants a comparison runs unless --max-variants raises it

LISTED: tuple[Setting, ...] = tuple(
    s
    for s in SETTINGS
    if FLAG in s.where
    and ((s.group == SAMPLING and s.kind in (int, float) and not s.optional) or s.name == "model")
)
LISTED_NAMES: tuple[str, ...] = tuple(s.name for s in LISTED)
# The output constraints hold commas of their own (a schema, a grammar, a choice list):
# the flag given more than once is the axis, each occurrence one variant, 'none' none.
REPEATED: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.name in CONSTRAINTS)
REPEATED_NAMES: tuple[str, ...] = tuple(s.name for s in REPEATED)
UNCONSTRAINED = "none"
# Their help here: the table's words, less what compare reads otherwise (a repeated flag)
AXIS_HELP = {
    "grammar": "Constrain the output to a GBNF grammar: a .gbnf file or the grammar's text.",
    "json_schema": "Constrain the output to JSON valid against a JSON Schema: a .json file "
    "or the schema's text.",
    "choices": "The output is exactly one of these comma-separated strings.",
}


def _option(s: Setting):
    return Annotated[
        str | None,
        typer.Option(
            *s.flags,
            metavar="V1,V2",
            help=f"{s.help} Comma-separated values are compared.",
            rich_help_panel=VARY,
            show_default=False,
        ),
    ]


def _repeated_option(s: Setting):
    return Annotated[
        list[str] | None,
        typer.Option(
            *s.flags,
            metavar="VALUE",
            help=f"{AXIS_HELP[s.name]} Given more than once, each value is a variant "
            "('none': no constraint).",
            rich_help_panel=VARY,
            show_default=False,
        ),
    ]


def list_flags(func):
    """Give ``func`` one list flag per LISTED setting; it receives them as ``lists``."""
    signature = inspect.signature(func, eval_str=True)
    kept = [p for p in signature.parameters.values() if p.name != "lists"]
    added = [
        inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=_option(s))
        for s in LISTED
    ] + [
        inspect.Parameter(s.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=_repeated_option(s))
        for s in REPEATED
    ]  # fmt: skip

    @functools.wraps(func)
    def command(**kwargs):
        lists = {s.name: kwargs.pop(s.name) for s in (*LISTED, *REPEATED)}
        return func(**kwargs, lists={k: v for k, v in lists.items() if v is not None})

    params = sorted([*kept, *added], key=lambda p: p.kind)
    command.__signature__ = signature.replace(parameters=params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    del command.__wrapped__  # the flags' wrapper must read this signature
    return command


def parse_values(name: str, text: str) -> tuple:
    """A list flag's values, each checked as the setting's own flag would check it."""
    s = next(x for x in LISTED if x.name == name)
    parts = [p.strip() for p in text.split(",")]
    if any(p == "" for p in parts):
        raise UsageError(f"{s.flag} {text!r} has an empty value.", hint=f"like {s.flag} 0,0.8")
    out = []
    for part in parts:
        try:
            out.append(parse_text(name, part))
        except SettingError as exc:
            raise UsageError(f"{s.flag} {text!r}: {exc.describe(s.flag, sep=' ')}.") from None
    if len(set(out)) != len(out):
        raise UsageError(f"{s.flag} {text!r} repeats a value.", hint="give each value once.")
    return tuple(out)


def given_lists(lists: Mapping[str, object]) -> dict[str, tuple]:
    """Every list flag given, parsed, in the table's order (a constraint: as typed)."""
    out = {name: parse_values(name, lists[name]) for name in LISTED_NAMES if name in lists}
    for s in REPEATED:
        if s.name in lists:
            typed = tuple(lists[s.name])  # type: ignore[arg-type]
            for value in typed:
                constraint_value(s.name, value)  # a bad grammar fails before any model loads
            if len(set(typed)) != len(typed):
                raise UsageError(
                    f"{s.flag} is given the same value twice.",
                    hint="give each variant's value once.",
                )
            out[s.name] = typed
    return out


def constraint_value(name: str, typed: str) -> dict[str, object]:
    """One variant's constraint flag as settings: 'none' clears every constraint."""
    if typed.strip().lower() == UNCONSTRAINED:
        return {n: DEFAULTS[n] for n in CONSTRAINTS}
    s = next(x for x in REPEATED if x.name == name)
    try:
        return {name: parse_text(name, typed)}
    except SettingError as exc:
        raise UsageError(f"{exc.describe(s.flag, sep=' ')}.") from None
