"""Evaluation data: JSON Lines or CSV rows with a task's fields and a label, checked strictly."""

from __future__ import annotations

import contextlib
import csv
import json
import re
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
    label: str  # the gold label, the gold option's text, or the gold answer to generate
    line: int = 0
    choices: tuple[str, ...] = ()  # the example's own options, when it has them
    gold: int = -1  # the index of the gold option among ``choices``

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
    path: Path,
    spec: PromptSpec,
    columns: Mapping[str, str] | None = None,
    choices: Sequence[str] = (),
) -> list[Example]:
    """Every row of a .jsonl/.json-lines or .csv file as an Example; DataError on any bad row.

    With ``choices`` (a list field, or several columns) each example carries its own options
    and the answer field names the gold one; without, a prompt with labels checks each
    label against them (a label's words count too); a prompt without labels keeps the answer.
    """
    columns = dict(columns or parse_field_map(None, spec))
    require_regular_file(path, "a data file", DataError)
    if not path.is_file():
        raise DataError(f"{path}: no such file.", hint="give a .jsonl or .csv file, or OWNER/NAME.")
    rows = _csv_rows(path) if path.suffix.lower() in (".csv", ".tsv") else _json_rows(path)
    examples = [_example(path, line, row, spec, columns, choices) for line, row in rows]
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
    path: Path,
    line: int,
    row: dict,
    spec: PromptSpec,
    columns: Mapping[str, str],
    choices: Sequence[str] = (),
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
    answer_column = columns[spec.answer]
    label = values.pop(spec.answer).strip()
    if choices:
        options, gold = read_choices(path, line, row, choices, label, answer_column)
        return Example(values, options[gold], line, options, gold)
    if not spec.labels:
        return Example(values, label, line)
    code = spec.label_of(label)
    if code is None:
        where = f"{path}:{line}:{locate_value(path, line, answer_column)}"
        known = ", ".join(
            k if spec.words(k) == (k,) else f"{k} = {' / '.join(spec.words(k))}"
            for k in spec.labels
        )
        raise DataError(
            f"{where}: label {label!r} is not one of prompt '{spec.name}''s labels ({known}).",
            hint="fix the row, map it in the prompt's labels table, or use a prompt whose "
            "labels match the data.",
        )
    return Example(values, code, line)


def example_from_row(
    source: Path, line: int, row: Mapping[str, str], spec: PromptSpec, choices: Sequence[str] = ()
) -> Example:
    """A prompt's own [[examples]] entry as an Example (for the default demonstration pool)."""
    return _example(source, line, dict(row), spec, parse_field_map(None, spec), choices)


def option_fields(spec: PromptSpec, examples: Sequence[Example]) -> tuple[str, ...]:
    """The query fields that hold every example's options, in order (() if none do).

    A prompt's own [[examples]] hold only its template's fields, never a list: when the
    data's options are a list field that repeats some of those fields (the docs' sample:
    ``options`` and the columns ``a``-``d``), the demonstrations read their options there.
    """
    found: tuple[str, ...] | None = None
    for ex in examples:
        fields: list[str] = []
        for option in ex.choices:
            match = next(
                (f for f in spec.query_fields if f not in fields and ex.fields.get(f) == option),
                None,
            )
            if match is None:
                return ()
            fields.append(match)
        if found is not None and tuple(fields) != found:
            return ()
        found = tuple(fields)
    return found or ()


def read_choices(
    path: Path, line: int, row: dict, choices: Sequence[str], answer: str, answer_column: str
) -> tuple[tuple[str, ...], int]:
    """An example's options (a list field, or several columns) and the index of the gold one."""
    where = f"{path}:{line}"
    letters: list[str] = []
    if len(choices) == 1:
        raw = row.get(choices[0])
        if isinstance(raw, str) and raw.lstrip().startswith("["):
            with contextlib.suppress(json.JSONDecodeError):
                raw = json.loads(raw)  # a CSV cell holding a JSON list
        if isinstance(raw, dict) and isinstance(raw.get("text"), list):  # ARC: {text, label}
            letters = [str(x) for x in raw.get("label") or []]
            raw = raw["text"]
        if not isinstance(raw, list) or len(raw) < 2:
            have = "nothing" if raw is None else f"a {type(raw).__name__}"
            raise DataError(
                f"{where}: the choices field '{choices[0]}' must hold a list of two or more "
                f"options; it holds {have}.",
                hint='like "choices": ["option 1", "option 2"], or name the columns: '
                "--choices a,b,c",
            )
        options = tuple(str(x).strip() for x in raw)
    else:
        missing = [c for c in choices if row.get(c) is None]
        if missing:
            raise DataError(
                f"{where}: no choices column '{missing[0]}' (the row has: "
                f"{', '.join(map(str, row)) or 'none'}).",
                hint="--choices names the columns that hold the options, like --choices a,b,c,d",
            )
        options = tuple(str(row[c]).strip() for c in choices)
    if any(not o for o in options):
        raise DataError(f"{where}: an option is empty.", hint="every option needs some text.")
    gold = gold_index(answer, options, letters)
    if gold is None:
        raise DataError(
            f"{where}:{locate_value(path, line, answer_column)}: the answer {answer!r} is not "
            f"an option's index (0-{len(options) - 1}), letter or text.",
            hint="the answer field holds the gold option: 0, 1, ..., A, B, ..., or its text.",
        )
    return options, gold


def gold_index(answer: str, options: Sequence[str], letters: Sequence[str] = ()) -> int | None:
    """Which option an answer names: its text, its label (ARC), a 0-based index, or a letter."""
    if answer in options:
        return options.index(answer)
    if answer in letters:
        return list(letters).index(answer)
    if answer.isdigit() and int(answer) < len(options):
        return int(answer)
    if len(answer) == 1 and "A" <= answer.upper() <= "Z":
        n = ord(answer.upper()) - ord("A")
        return n if n < len(options) else None
    return None


def locate_value(path: Path, line: int, column: str) -> int:
    """The 1-based character column where a row's value for ``column`` starts (1 if unknown)."""
    try:
        raw = path.read_text(encoding="utf-8-sig").splitlines()[line - 1]
    except (OSError, UnicodeDecodeError, IndexError):
        return 1
    if path.suffix.lower() in (".csv", ".tsv"):
        return _cell_start(path, raw, column)
    m = re.search(rf"{re.escape(json.dumps(column))}\s*:\s*", raw)
    return m.end() + 1 if m else 1


def _cell_start(path: Path, raw: str, column: str) -> int:
    """Where the cell of ``column`` starts in a CSV line (quotes respected)."""
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        header = next(csv.reader(_read(path).splitlines()[:1], delimiter=delimiter))
        index = header.index(column)
    except (StopIteration, ValueError, DataError):
        return 1
    starts, quoted = [0], False
    for i, ch in enumerate(raw):
        if ch == '"':
            quoted = not quoted
        elif ch == delimiter and not quoted:
            starts.append(i + 1)
    return starts[index] + 1 if index < len(starts) else 1
