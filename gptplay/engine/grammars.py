"""The GBNF grammar a generation is constrained to: from grammar, choices or json_schema.

A JSON Schema is converted with the converter llama-cpp-python ships
(``llama_cpp.llama_grammar.json_schema_to_gbnf``, a port of llama.cpp's
json-schema-to-grammar), so a schema constrains the output here as it does in llama-server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError


def output_grammar(params: SamplingParams) -> str | None:
    """The grammar the output must match, or None; UsageError for an unsupported schema."""
    grammar = params.constraint()  # also refuses two constraints at once
    if params.json_schema is not None:
        return schema_grammar(params.json_schema)
    return grammar


@functools.lru_cache(maxsize=16)
def schema_grammar(schema_text: str) -> str:
    """A JSON Schema (JSON text, already checked against the meta-schema) as GBNF."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return json_schema_to_gbnf(schema_text)
    except (AssertionError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"--json-schema: llama.cpp's schema converter does not support this schema: {exc}",
            hint="its supported subset: grammars/README.md in llama.cpp (JSON Schemas).",
        ) from None


def resolve_bias(
    entries: tuple[str, ...],
    n_vocab: int,
    tokenize: Callable[..., list[int]],
    piece: Callable[[int], bytes],
) -> list[tuple[int, float]]:
    """--logit-bias entries as (token id, bias), through an engine's own vocabulary.

    An id must exist; a text must be exactly one token (a text of several is refused,
    naming them, since biasing only its first token would steer something else).
    """
    from gptplay.settings.bias import BiasProblem, parse

    try:
        pairs = parse(entries)
    except BiasProblem as exc:
        raise UsageError(f"--logit-bias: {exc}.") from None
    out: list[tuple[int, float]] = []
    for key, bias in pairs:
        if isinstance(key, int):
            if not 0 <= key < n_vocab:
                raise UsageError(
                    f"--logit-bias: there is no token {key} (the vocabulary has ids 0 to "
                    f"{n_vocab - 1:,}).",
                    hint="find a token's id with: gptplay tokens 'TEXT'",
                )
            out.append((key, bias))
            continue
        ids = tokenize(key, add_bos=False)
        if len(ids) != 1:
            named = (
                ", ".join(f"{piece(i).decode('utf-8', 'replace')!r} = {i}" for i in ids) or "none"
            )
            raise UsageError(
                f"--logit-bias: {key!r} is {len(ids)} tokens ({named}), not one.",
                hint="give one token's text or id (gptplay tokens 'TEXT' shows them).",
            )
        out.append((ids[0], bias))
    return out
