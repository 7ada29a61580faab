"""Evaluation data: JSON Lines or CSV rows with a task's fields and a label, checked strictly."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gptplay import jsonin
from gptplay.errors import GptplayError
from gptplay.fileio import require_regular_file
from gptplay.library import PromptSpec
from gptplay.textin import CONVERT_HINT, bad_byte


class DataError(GptplayError):
    """A data file that cannot be used: it names the file, the line and what is wrong."""


@dataclass(frozen=True)
class Example:
    """One labelled example: the task's query fields, its gold label, and where it came from."""

    fields: Mapping[str, str]
    label: str
    line: int = 0

    def as_demo(self, answer: str) -> dict[str, str]:
        """The example as a demonstration: its fields plus the answer field."""
        return {**self.fields, answer: self.label}


def parse_field_map(pairs: Sequence[str] | None, spec: PromptSpec) -> dict[str, str]:
    """``NAME=COLUMN`` pairs as {task field: data column}; every task field maps to itself else."""
    wanted = (*spec.query_fields, spec.answer)
    mapping = {name: name for name in wanted}
    for pair in pairs or ():
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise DataError(
                f"--field {pair!r} is not NAME=COLUMN.", hint="like --field text=review"
            )
        if name not in wanted:
            raise DataError(
                f"--field {pair!r}: prompt '{spec.name}' has no field '{name}' "
                f"(its fields: {', '.join(wanted)}).",
            )
        mapping[name] = column
    return mapping


def load_examples(
    path: Path, spec: PromptSpec, columns: Mapping[str, str] | None = None
) -> list[Example]:
    """Every row of a .jsonl/.json-lines or .csv file as an Example; DataError on any bad row."""
    columns = dict(columns or parse_field_map(None, spec))
    require_regular_file(path, "a data file", DataError)
    if not path.is_file():
        raise DataError(f"{path}: no such file.", hint="give a .jsonl or .csv file, or OWNER/NAME.")
    rows = _csv_rows(path) if path.suffix.lower() in (".csv", ".tsv") else _json_rows(path)
    examples = [_example(path, line, row, spec, columns) for line, row in rows]
    if not examples:
        raise DataError(
            f"{path}: the file holds no examples.",
            hint="one JSON object per line, or a CSV file with a header row.",
        )
    return examples


def _json_rows(path: Path) -> Iterator[tuple[int, dict]]:
    text = _read(path)
    for n, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = jsonin.loads(raw)
        except jsonin.JsonProblem as exc:
            at = f" at column {exc.col}" if exc.col else ""
            raise DataError(
                f"{path}:{n}: not valid JSON ({exc.reason}{at}).",
                hint="JSON Lines holds one JSON object per line; a .csv file needs a header row.",
            ) from None
        if not isinstance(row, dict):
            raise DataError(
                f"{path}:{n}: a line must be a JSON object, not {type(row).__name__}.",
                hint='like {"sentence": "...", "label": "positive"}',
            )
        yield n, row


def _csv_rows(path: Path) -> Iterator[tuple[int, dict]]:
    text = _read(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    try:
        for row in reader:
            if None in row:  # more cells than the header names
                raise DataError(
                    f"{path}:{reader.line_num}: more cells than the header has columns.",
                    hint="quote cells that contain the delimiter.",
                )
            if not any(v for v in row.values()):
                continue
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: not valid CSV ({exc}).") from None


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col, byte = bad_byte(raw, exc.start)
        raise DataError(
            f"{path}:{line}:{col}: not UTF-8 text (byte 0x{byte:02x} at offset {exc.start}).",
            hint=CONVERT_HINT,
        ) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror}).") from None


def _example(
    path: Path, line: int, row: dict, spec: PromptSpec, columns: Mapping[str, str]
) -> Example:
    values: dict[str, str] = {}
    for name, column in columns.items():
        value = row.get(column)
        if value is None or (isinstance(value, str) and name == spec.answer and not value.strip()):
            have = ", ".join(str(k) for k in row) or "none"
            hint = f"map a column to it with --field {name}=COLUMN."
            raise DataError(
                f"{path}:{line}: no value for the field '{name}' (column '{column}'; "
                f"the row has: {have}).",
                hint=hint,
            )
        if isinstance(value, (dict, list)):
            raise DataError(f"{path}:{line}: column '{column}' holds a {type(value).__name__}.")
        values[name] = value if isinstance(value, str) else json.dumps(value)
    label = values.pop(spec.answer).strip()
    if label not in spec.labels:
        raise DataError(
            f"{path}:{line}: label {label!r} is not one of prompt '{spec.name}''s labels "
            f"({', '.join(spec.labels)}).",
            hint="fix the row, or use a prompt whose labels match the data.",
        )
    return Example(values, label, line)
