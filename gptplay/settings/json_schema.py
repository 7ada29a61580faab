"""The json_schema setting: a JSON Schema the output must validate against.

The schema is kept as its JSON text (so it layers, prints and stores like any other
setting). This module reads it from a file or inline text, checks that it is a schema
(the ``jsonschema`` package's meta-schema check), and checks an output against it. The
schema becomes a GBNF grammar in the engine, with the converter llama-cpp-python ships.
"""

from __future__ import annotations

import json
from pathlib import Path

ANY_OBJECT = '{"type": "object"}'  # --json-object


class SchemaProblem(ValueError):
    """What is wrong with a schema, in one line."""


def schema_source(value: str, base: Path | None = None) -> str:
    """A --json-schema value (or a prompt's json_schema) as the schema's JSON text.

    Text that starts with '{' is the schema itself; anything else is a file, relative to
    ``base`` (a prompt file's folder) where one is given.
    """
    from gptplay.settings.files import read_setting_file

    if value.lstrip().startswith("{"):
        return value
    return read_setting_file(
        value,
        base,
        "JSON schema",
        'give a .json file, or the schema\'s text (\'{"type": "object"}\').',
    )


def parse_schema(text: str) -> dict:
    """The schema as a dict; SchemaProblem when it is not JSON or not a JSON Schema."""
    import jsonschema

    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaProblem(
            f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(schema, dict):
        raise SchemaProblem(f"a schema is a JSON object, not {type(schema).__name__}")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise SchemaProblem(f"not a valid JSON Schema at {where}: {exc.message}") from None
    remote = _remote_ref(schema)
    if remote is not None:
        raise SchemaProblem(f"'$ref': {remote!r} points outside the schema (nothing is fetched)")
    return schema


def _remote_ref(node) -> str | None:
    """The first $ref that is not within the schema ('#...'), if any."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return ref
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _remote_ref(child)
        if found is not None:
            return found
    return None


def verdict(text: str, schema_text: str) -> tuple[bool, str]:
    """Whether ``text`` is JSON that validates against the schema, and why not."""
    import jsonschema

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return False, f"not JSON ({exc.msg} at column {exc.colno})"
    schema = json.loads(schema_text)
    error = jsonschema.exceptions.best_match(
        jsonschema.validators.validator_for(schema)(schema).iter_errors(value)
    )
    if error is None:
        return True, "valid"
    where = "/".join(str(p) for p in error.absolute_path)
    return False, f"{where + ': ' if where else ''}{error.message}"
