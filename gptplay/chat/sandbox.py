"""The Jinja sandbox chat templates run in, with a time limit and a size limit.

A chat template comes from a model file, so it is untrusted code. Jinja's sandbox keeps it
away from Python's internals; on top of that, rendering here:

- stops after ``TIME_LIMIT_S`` seconds (a trace function checks a deadline on every line
  the template, or a Python-level filter it calls, runs: ``range`` loops nested in loops);
- refuses to build any string or list longer than the size limit (``'a' * 10**9``, a huge
  power, ``center(10**9)``, ``'{:>999999999}'.format(x)``, ``~`` doubling a string), checked
  before the work where it can be and on every concatenation and output chunk;
- leaves ``*``, ``**``, ``+`` and ``%`` to run time, so none is folded at compile time.

Every failure is a TemplateRefused with the reason; JinjaFormat words it for the user.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

# Rendering stops after this long; a real template renders in milliseconds.
TIME_LIMIT_S = 2.0
# The rendered prompt (and any string or list built on the way) may hold this many
# characters plus four per character of the conversation it renders.
BASE_SIZE_LIMIT = 1_000_000
MAX_TOJSON_INDENT = 32
_JINJA_DIR = os.path.dirname(importlib.util.find_spec("jinja2").origin or "jinja2")
_WIDE = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format string


class TemplateRefused(Exception):
    """Rendering stopped: the template broke a limit or failed."""


def size_limit(conversation_chars: int) -> int:
    """The most characters a render may produce for a conversation of this size."""
    return BASE_SIZE_LIMIT + 4 * conversation_chars


def _sized(value: Any) -> int:
    return len(value) if isinstance(value, (str, bytes, list, tuple, dict)) else 0


class _Limits:
    """The current render's size limit and deadline (one render at a time per environment)."""

    def __init__(self) -> None:
        self.size = BASE_SIZE_LIMIT
        self.deadline = float("inf")

    def check(self, value: Any) -> Any:
        n = _sized(value)
        if n > self.size:
            raise TemplateRefused(
                f"it built a value of {n:,} characters or items, over the limit of "
                f"{self.size:,} for this conversation"
            )
        return value

    def check_args(self, args: Iterable[Any]) -> None:
        for arg in args:
            if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > self.size:
                raise TemplateRefused(
                    f"it passed {arg:.3g} as an argument, over the size limit of {self.size:,}"
                )

    def check_format(self, fmt: Any) -> None:
        if isinstance(fmt, str) and _WIDE.search(fmt):
            raise TemplateRefused("it formats a value with a width of a million or more")


def make_environment():
    """A fresh sandboxed environment with the limits wired in (``env.limits``)."""
    from jinja2.compiler import CodeGenerator
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    limits = _Limits()

    class BoundedGenerator(CodeGenerator):
        def visit_Concat(self, node, frame) -> None:  # the ``~`` operator
            self.write("environment.limits.check(")
            super().visit_Concat(node, frame)
            self.write(")")

    class StrictSandbox(ImmutableSandboxedEnvironment):
        code_generator_class = BoundedGenerator
        # Intercepted operators are never folded at compile time, and run through call_binop.
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        # The stock sandbox turns a forbidden attribute into an undefined value that prints
        # as '' - the template would carry on quietly. Refuse loudly instead.
        def unsafe_undefined(self, obj, attribute):
            raise SecurityError(
                f"access to attribute {attribute!r} of a {type(obj).__name__!r} object"
            )

        def call_binop(self, context, operator, left, right):
            _check_binop(limits, operator, left, right)
            return limits.check(super().call_binop(context, operator, left, right))

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
            limits.check_args((*args, *kwargs.values()))
            return limits.check(super().call(__context, __obj, *args, **kwargs))

        def wrap_str_format(self, value):  # '{:>999999999}'.format(x)
            wrapped = super().wrap_str_format(value)
            if wrapped is not None:
                limits.check_format(value.__self__)
            return wrapped

    env = StrictSandbox(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.limits = limits
    env.concat = lambda parts: limits.check("".join(limits.check(p) for p in parts))
    # Hugging Face's tojson keeps non-ASCII text and does not HTML-escape; templates expect that.
    env.filters["tojson"] = _tojson
    env.filters = {name: _bounded(limits, f) for name, f in env.filters.items()}
    return env


def _tojson(value: Any, indent: int | None = None, **_: Any) -> str:
    if isinstance(indent, int) and indent > MAX_TOJSON_INDENT:
        raise TemplateRefused(f"tojson's indent {indent} is over {MAX_TOJSON_INDENT}")
    return json.dumps(value, ensure_ascii=False, indent=indent)


def _bounded(limits: _Limits, f: Callable) -> Callable:
    """A filter whose numeric arguments and result are held to the size limit."""

    first = 2 if hasattr(f, "jinja_pass_arg") else 1  # after the environment and the value

    def bounded(*args, **kwargs):
        limits.check_args((*args[first:], *kwargs.values()))
        if getattr(f, "__name__", "") == "do_format" and len(args) >= first:
            limits.check_format(args[first - 1])
        return limits.check(f(*args, **kwargs))

    # Jinja reads these to decide what to pass (the environment, the context, ...).
    bounded.__dict__.update(getattr(f, "__dict__", {}))
    bounded.__name__ = getattr(f, "__name__", "filter")
    bounded.__wrapped__ = f
    return bounded


def _check_binop(limits: _Limits, operator: str, left: Any, right: Any) -> None:
    """Refuse, before computing it, a result over the size limit."""
    if operator == "*":
        for seq, n in ((left, right), (right, left)):
            if _sized(seq) and isinstance(n, int) and _sized(seq) * n > limits.size:
                raise TemplateRefused(
                    f"it repeats a value {n:,} times, over the size limit of {limits.size:,}"
                )
    elif operator == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            digits = right * abs(left).bit_length() * 0.302
            if digits > limits.size:
                raise TemplateRefused(
                    f"it computes {left} ** {right}, a number of ~{digits:.3g} digits"
                )
    elif operator == "+":
        if _sized(left) and _sized(right) and _sized(left) + _sized(right) > limits.size:
            raise TemplateRefused(f"it joins values past the size limit of {limits.size:,}")
    elif operator == "%" and isinstance(left, str):
        limits.check_format(left)


def render(template, env, conversation_chars: int, **context: Any) -> str:
    """Render with the deadline and the size limit; TemplateRefused when one is passed."""
    limits: _Limits = env.limits
    limits.size = size_limit(conversation_chars)
    limits.deadline = time.monotonic() + TIME_LIMIT_S
    out: list[str] = []
    total = 0
    previous = sys.gettrace()
    sys.settrace(_tracer(limits.deadline))
    try:
        for chunk in template.generate(**context):
            total += len(chunk)
            if total > limits.size:
                raise TemplateRefused(
                    f"its output passed {limits.size:,} characters, the limit for this conversation"
                )
            out.append(chunk)
    finally:
        sys.settrace(previous)
    return "".join(out)


def _tracer(deadline: float):
    """A trace function raising TemplateRefused at the first line run after the deadline."""
    clock = time.monotonic

    def local(frame, event, arg):
        if clock() > deadline:
            raise TemplateRefused(f"it ran for more than {TIME_LIMIT_S:g} s, the time limit")
        return local

    def on_call(frame, event, arg):
        # Only the template's own code and Jinja's Python-level filters run unbounded loops;
        # tracing just those keeps a normal render within a few times its untraced cost.
        name = frame.f_code.co_filename
        return local if name == "<template>" or name.startswith(_JINJA_DIR) else None

    return on_call
