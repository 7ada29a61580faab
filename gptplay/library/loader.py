"""Reading a prompt file: TOML syntax, then a strict schema check naming file:line:col."""

from __future__ import annotations

import re
import stat
import sys
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gptplay.errors import UsageError, excerpt
from gptplay.library import template as tpl
from gptplay.library.dotted import deep_dotted_key
from gptplay.library.errors import PromptError
from gptplay.library.locate import locate, positions
from gptplay.library.reasoning import extract, pattern_problem
from gptplay.library.spec import KINDS, PARAM_NAMES, PromptSpec, Variable
from gptplay.textin import CONVERT_HINT, bad_byte

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = {
    "title": "a short title",
    "description": "what the prompt is for",
    "kind": "the task format",
    "instruction": "the task description before the demonstrations",
    "template": "one demonstration, e.g. '{english} => {french}'",
    "answer": "the field the model writes (the template must end with it)",
    "separator": "what goes between demonstrations",
    "instruction_separator": "what goes after the instruction",
    "labels": "the allowed answers, or a table mapping the data's labels to words",
    "choices": "where each example's own options are: a field, or a list of columns",
    "stop": "stop sequences",
    "params": "default sampling parameters",
    "variables": "default values for variables",
    "examples": "the demonstrations",
    "answer_pattern": "a regex whose first group is the answer a reasoning chain ends with",
    "cot_trigger": "what --cot appends to the query (default: Let's think step by step.)",
}
REQUIRED = ("title", "kind", "template", "answer")
# Refused before parsing (docs/library.md): the standard TOML reader takes minutes on a
# key of 100,000 dotted parts, and rich's highlighter on megabytes of text.
MAX_PROMPT_BYTES = 256 * 1024
MAX_KEY_PARTS = 32
_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


class _Checker:
    """Collects every problem of one document, each placed at its key's line and column."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.found = positions(text)
        self.errors: list[PromptError] = []

    def error(self, path: tuple, message: str, hint: str | None = None) -> None:
        line, col = locate(self.found, path)
        self.errors.append(PromptError(message, hint, source=self.source, line=line, col=col))

    def string(self, doc: dict, key: str, path: tuple = ()) -> str | None:
        """doc[key] if it is a string; otherwise record the problem."""
        value = doc.get(key)
        if value is not None and not isinstance(value, str):
            self.error((*path, key), f"'{key}' must be a string (in quotes), not {_kind(value)}")
            return None
        return value

    def strings(self, doc: dict, key: str) -> tuple[str, ...]:
        """doc[key] as a list of non-empty strings."""
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.error((key,), f'\'{key}\' must be a list of non-empty strings, like ["a", "b"]')
            return ()
        return tuple(value)

    def placeholders(self, text: str, path: tuple) -> list[str]:
        """The placeholders of a text, recording a syntax problem."""
        try:
            return tpl.placeholders(text)
        except tpl.TemplateSyntaxError as exc:
            self.error(path, f"{path[-1]}: {exc}")
            return []


def _kind(value: Any) -> str:
    """A TOML reader's name for a value's type."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    names.update({list: "an array", dict: "a table"})
    return names.get(type(value), "a date or time")


def _end(text: str) -> tuple[int, int]:
    """The line and column just past the end of text."""
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def parse_toml(text: str, source: str) -> dict:
    """TOML text to a dict, or a PromptError at the line and column of the syntax error."""
    _guard(text, source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _POS.search(msg)
        line, col = (int(m.group(1)), int(m.group(2))) if m else _end(text)
        msg = re.sub(r"\s*\(at end of document\)", "", _POS.sub("", msg)).strip()
        raise PromptError(f"not valid TOML: {msg}", source=source, line=line, col=col) from None
    except RecursionError:
        raise PromptError("not valid TOML: nested too deeply", source=source) from None


def _guard(text: str, source: str) -> None:
    """Refuse, before parsing, a text too large or with keys of too many dotted parts."""
    if len(text) > MAX_PROMPT_BYTES:
        raise PromptError(
            f"the prompt is {len(text):,} characters; a prompt file holds at most "
            f"{MAX_PROMPT_BYTES:,}",
            hint="keep the demonstrations you need, or put long data in an eval --data file",
            source=source,
        )
    deep = deep_dotted_key(text, MAX_KEY_PARTS)  # one pass, linear in the text
    if deep:
        parts, start = deep
        line = text.count("\n", 0, start) + 1
        raise PromptError(
            f"a dotted key of {parts:,} parts (a prompt file allows at most {MAX_KEY_PARTS})",
            hint="a prompt's keys are nested two or three levels deep",
            source=source,
            line=line,
        )


def check(text: str, source: str, name: str) -> tuple[PromptSpec | None, list[PromptError]]:
    """Parse and validate text: the spec if it is valid, and every problem found."""
    try:
        doc = parse_toml(text, source)
    except PromptError as exc:
        return None, [exc]
    c = _Checker(text, source)
    for key in doc:
        if key not in TOP_KEYS:
            # excerpt: a key may be 250,000 characters long
            c.error((key,), f"unknown key {excerpt(key)} (known keys: {', '.join(TOP_KEYS)})")
    for key in REQUIRED:
        if key not in doc:
            c.error((), f"missing '{key}': {TOP_KEYS[key]}", hint=f'add {key} = "..."')
    title, kind, template, answer = (c.string(doc, k) for k in REQUIRED)
    description = c.string(doc, "description") or ""
    instruction = c.string(doc, "instruction") or ""
    separator = c.string(doc, "separator")
    instruction_separator = c.string(doc, "instruction_separator")
    if kind is not None and kind not in KINDS:
        c.error(("kind",), f"unknown kind '{kind}' (one of: {', '.join(KINDS)})")
    variables = _variables(c, doc.get("variables", {}))
    names = []
    if template is not None:
        names = c.placeholders(template, ("template",))
    instruction_names = c.placeholders(instruction, ("instruction",))
    for placeholder in instruction_names:
        if placeholder not in variables:
            c.error(
                ("instruction",),
                f"the instruction's placeholder '{{{placeholder}}}' is not a variable",
                hint=f'declare it under [variables] ({placeholder} = "..."), or write {{{{ }}}}',
            )
    for var in variables:
        if var not in names and var not in instruction_names:
            c.error(
                ("variables", var), f"variable '{var}' is not used by the instruction or template"
            )
    fields = [n for n in names if n not in variables]
    if template is not None:
        _check_template(c, template, answer, fields)
    labels, label_words = _labels(c, doc.get("labels", []))
    choices = _choices(c, doc.get("choices", []))
    stop = c.strings(doc, "stop")
    params = _params(c, doc.get("params", {}))
    answers = tuple(dict.fromkeys([*labels, *(w for ws in label_words.values() for w in ws)]))
    examples = _examples(c, doc.get("examples", []), fields, answer, answers)
    answer_pattern = _answer_pattern(c, doc, examples, answer)
    cot_trigger = c.string(doc, "cot_trigger")
    if c.errors:
        return None, sorted(c.errors, key=lambda e: (e.line or 0, e.col or 0))
    spec = PromptSpec(
        name=name,
        title=title or "",
        kind=kind or "",
        template=template or "",
        answer=answer or "",
        description=description,
        instruction=instruction,
        separator="\n" if separator is None else separator,
        instruction_separator=instruction_separator,
        labels=labels,
        label_words=MappingProxyType(label_words),
        choices=choices,
        stop=stop,
        params=MappingProxyType(params),
        variables=MappingProxyType(variables),
        examples=tuple(MappingProxyType(e) for e in examples),
        answer_pattern=answer_pattern,
        cot_trigger=cot_trigger,
    )
    return spec, []


def _answer_pattern(c: _Checker, doc: dict, examples: list[dict], answer: str | None):
    """'answer_pattern': compiles, has a group, and finds the answer in every demonstration."""
    pattern = c.string(doc, "answer_pattern")
    if pattern is None:
        return None
    problem = pattern_problem(pattern)
    if problem is not None:
        c.error(("answer_pattern",), problem)
        return None
    for i, ex in enumerate(examples):
        target = ex.get(answer or "")
        if isinstance(target, str) and extract(pattern, target) is None:
            c.error(
                ("examples", i, answer),
                f"example {i + 1}: its {answer} does not end with an answer that "
                f"answer_pattern {pattern!r} finds",
                hint="end the reasoning with the answer sentence, like 'The answer is 19.'",
            )
    return pattern


def _labels(c: _Checker, raw: Any) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """'labels': a list of labels, or a table {label = "word"} / {label = ["word", ...]}."""
    if isinstance(raw, list):
        labels = c.strings({"labels": raw}, "labels")
        if len(set(labels)) != len(labels):
            c.error(("labels",), "'labels' lists the same label twice")
        return labels, {}
    if not isinstance(raw, dict):
        c.error(
            ("labels",),
            '\'labels\' must be a list like ["a", "b"] or a table like { 0 = "negative" }',
        )
        return (), {}
    words: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for label, value in raw.items():
        ws = [value] if isinstance(value, str) else value
        ok = isinstance(ws, list) and all(isinstance(w, str) and w for w in ws)
        if not ok or not ws:
            c.error(
                ("labels", label),
                f"label '{label}' must map to a word or a list of words, like "
                f'{label} = "Number" or {label} = ["Yes", "True"]',
            )
            continue
        for w in ws:
            if w in owner:
                c.error(("labels", label), f"the word '{w}' is given to '{owner[w]}' and '{label}'")
            owner.setdefault(w, label)
        words[label] = tuple(ws)
    if not raw:
        c.error(("labels",), "'labels' is an empty table")
    return tuple(raw), words


def _choices(c: _Checker, raw: Any) -> tuple[str, ...]:
    """'choices': the field holding each example's options, or the columns that do."""
    if isinstance(raw, str) and raw:
        return (raw,)
    if isinstance(raw, list) and raw and all(isinstance(v, str) and v for v in raw):
        return tuple(raw)
    if raw == []:
        return ()
    c.error(("choices",), '\'choices\' must be a field name or a list of columns, like ["a", "b"]')
    return ()


def _check_template(c: _Checker, template: str, answer: str | None, fields: list[str]) -> None:
    """The answer is a field and the template ends with it."""
    if answer is None:
        return
    if answer not in fields:
        c.error(("answer",), f"answer '{answer}' is not a field of the template '{template}'")
        return
    if not template.endswith("{" + answer + "}") or template.count("{" + answer + "}") != 1:
        c.error(
            ("template",),
            f"the template must end with {{{answer}}} (the answer), once",
            hint="the query is the template cut where the answer goes",
        )
    if len(fields) < 2:
        c.error(("template",), "the template needs at least one field besides the answer")


def _variables(c: _Checker, raw: Any) -> dict[str, Variable]:
    """[variables]: name = "default", or name = { default = "...", description = "..." }."""
    if not isinstance(raw, dict):
        c.error(("variables",), "'variables' must be a table of name = \"default\"")
        return {}
    out = {}
    for name, value in raw.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            c.error(("variables", name), f"variable name '{name}' must be an identifier")
        elif isinstance(value, str):
            out[name] = Variable(name, value)
        elif isinstance(value, dict):
            extra = set(value) - {"default", "description"}
            if extra:
                c.error(
                    ("variables", name),
                    f"unknown key '{sorted(extra)[0]}' in variable "
                    f"'{name}' (known: default, description)",
                )
            default = c.string(value, "default", ("variables", name))
            description = c.string(value, "description", ("variables", name)) or ""
            out[name] = Variable(name, default, description)
        else:
            c.error(
                ("variables", name),
                f"variable '{name}' must be a string default or a "
                "table {{ default = ..., description = ... }}",
            )
    return out


def _params(c: _Checker, raw: Any) -> dict[str, int | float]:
    """[params]: known settings, each checked by the settings table (gptplay.settings)."""
    from gptplay.settings import SettingError, validate

    if not isinstance(raw, dict):
        c.error(("params",), "'params' must be a table, like [params] temperature = 0")
        return {}
    out = {}
    for key, value in raw.items():
        if key not in PARAM_NAMES:
            c.error(("params", key), f"unknown parameter '{key}' (known: {', '.join(PARAM_NAMES)})")
            continue
        try:
            if key == "grammar" and isinstance(value, str):
                value = _grammar_file(c, value)
            if key == "json_schema":
                value = _schema_value(c, value)
            out[key] = validate(key, value)
        except SettingError as exc:
            shown = _kind(value) if not exc.out_of_range else None
            c.error(("params", key), exc.describe(f"parameter '{key}'", shown))
        except UsageError as exc:  # a grammar file that cannot be read
            c.error(("params", key), exc.message, hint=exc.hint)
    return out


def _grammar_file(c: _Checker, value: str) -> str:
    """[params] grammar: the text, or a .gbnf file beside the prompt file."""
    from gptplay.settings.gbnf import grammar_source

    base = Path(c.source).parent if c.source else None
    return grammar_source(value, base)


def _schema_value(c: _Checker, value: Any) -> Any:
    """[params] json_schema: a table (the schema), its JSON text, or a .json file beside."""
    import json

    from gptplay.settings.json_schema import schema_source

    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, str):
        base = Path(c.source).parent if c.source else None
        return schema_source(value, base)
    return value


def _examples(c: _Checker, raw: Any, fields: list[str], answer: str | None, labels: tuple):
    """[[examples]]: each fills exactly the template's fields with strings."""
    if not isinstance(raw, list):
        c.error(("examples",), "'examples' must be an array of tables: [[examples]]")
        return []
    out = []
    for i, ex in enumerate(raw):
        where = ("examples", i)
        if not isinstance(ex, dict):
            c.error(where, f"example {i + 1} must be a table ([[examples]])")
            continue
        for key, value in ex.items():
            if fields and key not in fields:
                c.error(
                    (*where, key),
                    f"example {i + 1}: '{key}' is not a field of the "
                    f"template (fields: {', '.join(fields)})",
                )
            elif not isinstance(value, str):
                c.error(
                    (*where, key),
                    f"example {i + 1}: '{key}' must be a string (in quotes), not {_kind(value)}",
                )
        for key in fields:
            if key not in ex:
                c.error(where, f"example {i + 1} is missing the field '{key}'")
        if labels and answer in ex and isinstance(ex[answer], str) and ex[answer] not in labels:
            c.error(
                (*where, answer),
                f"example {i + 1}: '{ex[answer]}' is not one of the labels or their words "
                f"({', '.join(labels)})",
            )
        out.append({k: v for k, v in ex.items() if isinstance(v, str)})
    return out


def load_text(text: str, source: str = "<prompt>", name: str = "prompt") -> PromptSpec:
    """Parse and validate a prompt; the first problem is raised as a PromptError."""
    spec, errors = check(text, source, name)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            first.hint = (first.hint + "; " if first.hint else "") + (
                f"{len(errors) - 1} more problem(s): gptplay library validate {source}"
            )
        raise first
    assert spec is not None
    return spec


def read_source(path: Path) -> str:
    """A prompt file's text, or a PromptError saying why it cannot be read."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise PromptError("not a regular file (a FIFO, device or folder?)", source=path)
        with path.open("rb") as f:
            raw = f.read(MAX_PROMPT_BYTES + 1)
        if len(raw) > MAX_PROMPT_BYTES:
            raise PromptError(
                f"larger than {MAX_PROMPT_BYTES:,} bytes, the most a prompt file may hold",
                source=path,
            )
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col, byte = bad_byte(raw, exc.start)
        raise PromptError(
            f"not UTF-8 text: byte 0x{byte:02x} ({exc.reason})",
            hint=CONVERT_HINT,
            source=path,
            line=line,
            col=col,
        ) from None
    except OSError as exc:
        raise PromptError(f"cannot read the prompt file: {exc.strerror}", source=path) from None
