"""Writing prompt files: tomlkit keeps a person's comments and layout; every write is atomic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gptplay.fileio import atomic_write, locked
from gptplay.library.errors import PromptError
from gptplay.library.loader import load_text, tomllib
from gptplay.library.spec import PromptSpec

ORDER = (
    "title",
    "description",
    "kind",
    "instruction",
    "instruction_separator",
    "template",
    "answer",
    "separator",
    "labels",
    "choices",
    "stop",
    "answer_pattern",
    "cot_trigger",
    "params",
    "variables",
    "examples",
)


def spec_values(spec: PromptSpec) -> dict[str, Any]:
    """The spec as plain TOML values, leaving out what equals the default."""
    variables = {}
    for name, var in spec.variables.items():
        if var.description:
            entry = {"description": var.description}
            if var.default is not None:
                entry["default"] = var.default
            variables[name] = entry
        else:
            variables[name] = var.default
    values: dict[str, Any] = {
        "title": spec.title,
        "description": spec.description,
        "kind": spec.kind,
        "instruction": spec.instruction,
        "instruction_separator": spec.instruction_separator,
        "template": spec.template,
        "answer": spec.answer,
        "separator": spec.separator,
        "labels": _labels_value(spec),
        "choices": spec.choices[0] if len(spec.choices) == 1 else list(spec.choices),
        "stop": list(spec.stop),
        "params": dict(spec.params),
        "variables": variables,
        "examples": [dict(e) for e in spec.examples],
        "answer_pattern": spec.answer_pattern,
        "cot_trigger": spec.cot_trigger,
    }
    defaults = {"description": "", "instruction": "", "labels": [], "stop": [], "params": {}}
    defaults |= {"choices": []}
    defaults |= {"separator": "\n"}
    defaults |= {"variables": {}, "examples": [], "instruction_separator": None}
    defaults |= {"answer_pattern": None, "cot_trigger": None}
    return {k: v for k, v in values.items() if k not in defaults or v != defaults[k]}


def _labels_value(spec: PromptSpec) -> list[str] | dict[str, Any]:
    """A list of labels, or the table of labels mapped to their words."""
    if not spec.label_words:
        return list(spec.labels)
    return {k: ws[0] if len(ws) == 1 else list(ws) for k, ws in spec.label_words.items()}


def _string(value: str):
    """A tomlkit string: multi-line when that reads better and round-trips exactly."""
    import tomlkit

    if "\n" in value.strip("\n") and len(value) > 24:
        item = tomlkit.string(value, multiline=True)
        if tomllib.loads(f"x = {item.as_string()}")["x"] == value:
            return item
    return tomlkit.string(value)


def _item(value: Any):
    """A plain value as a tomlkit item (strings formatted for reading)."""
    import tomlkit

    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        table = tomlkit.inline_table()
        for k, v in value.items():
            table[k] = _item(v)
        return table
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        aot = tomlkit.aot()
        for entry in value:
            aot.append(_table(entry))
        return aot
    return tomlkit.item(value)


def _table(values: dict[str, Any]):
    """A standard [table] whose values are formatted for reading."""
    import tomlkit

    table = tomlkit.table()
    for k, v in values.items():
        table[k] = _item(v)
    return table


def _update_table(table, values: dict[str, Any]) -> None:
    """Change only the keys of a table whose values differ (comments stay)."""
    for key in [k for k in table if k not in values]:
        del table[key]
    for key, value in values.items():
        if key not in table or table[key].unwrap() != value:
            table[key] = _item(value)


def _update(doc, values: dict[str, Any], before: dict[str, Any]) -> None:
    """Change a parsed document in place from `before` to `values`, touching only what differs."""
    import tomlkit.items as it

    for key in ORDER:
        value = values.get(key)
        if value == before.get(key):
            continue  # same meaning: leave the person's text exactly as written
        current = doc.get(key)
        if key not in values:
            if key in doc:
                del doc[key]
        elif key in ("params", "variables") and isinstance(current, it.Table):
            _update_table(current, value)
        elif key == "examples" and isinstance(current, it.AoT):
            for i, entry in enumerate(value):
                if i < len(current):
                    _update_table(current[i], entry)
                else:
                    current.append(_table(entry))
            while len(current) > len(value):
                current.body.pop()
        elif key in ("params", "variables"):
            doc[key] = _table(value)
        else:
            doc[key] = _item(value)


def render_toml(spec: PromptSpec, existing: str | None = None, header: str | None = None) -> str:
    """The TOML text of a spec; given the file's current text, only changed values differ."""
    import tomlkit

    values = spec_values(spec)
    if existing is not None:
        doc = tomlkit.parse(existing)
        _update(doc, values, spec_values(load_text(existing)))
    else:
        doc = tomlkit.document()
        if header:
            for line in header.splitlines():
                doc.add(tomlkit.comment(line))
        for key in ORDER:
            if key in values and key not in ("params", "variables"):
                if key == "examples":
                    for name in ("params", "variables"):
                        if name in values:
                            doc[name] = _table(values[name])
                doc[key] = _item(values[key])
        for name in ("params", "variables"):
            if name in values and name not in doc:
                doc[name] = _table(values[name])
    return tomlkit.dumps(doc)


def save_spec(spec: PromptSpec, path: Path, header: str | None = None) -> str:
    """Write a spec to path (keeping the comments of a file already there); returns the text."""
    with locked(path):  # a concurrent save of the same file is merged, never lost
        return _save_spec(spec, path, header)


def _save_spec(spec: PromptSpec, path: Path, header: str | None) -> str:
    existing = None
    if path.exists():
        try:
            existing = path.read_text(encoding="utf-8")
            import tomlkit

            tomlkit.parse(existing)
            load_text(existing, str(path), path.stem)
        except Exception:  # an unreadable file is replaced whole, never half-merged
            existing = None
    text = render_toml(spec, existing, header)
    try:
        load_text(text, str(path), path.stem)
    except PromptError as exc:  # never write a file the library itself would reject
        raise PromptError(f"refusing to write an invalid prompt: {exc.problem}") from None
    atomic_write(path, text)
    return text
