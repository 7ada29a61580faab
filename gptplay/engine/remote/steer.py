"""Constraints and logit bias on a model server: what one request asks, in each server's form.

A run's grammar, JSON schema, choices and logit bias become a ``Steering`` once, before any
request (a text key of --logit-bias is resolved to its id with the server's tokenizer).
Each dialect's ``steer_fields`` turns it into the fields its completion endpoint takes, or
refuses with one line (exit 2) where the server has no field for it: a constrained run
that a server would answer unconstrained is never sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError

OPENAI_MAX_BIAS = 100.0  # OpenAI's logit_bias range is [-100, 100]; -100 is its ban


@dataclass(frozen=True)
class Steering:
    """What constrains and biases one request."""

    grammar: str | None = None  # GBNF: a --grammar, or the grammar of --choice
    schema_text: str | None = None  # a --json-schema, as its JSON text
    choices: tuple[str, ...] = ()
    bias: tuple[tuple[int, float], ...] = ()  # (token id, bias); -inf bans

    @property
    def constrained(self) -> bool:
        """Whether a grammar, a schema or choices constrain the output."""
        return self.grammar is not None or self.schema_text is not None

    @property
    def active(self) -> bool:
        return self.constrained or bool(self.bias)

    @property
    def what(self) -> str:
        """The flag that constrains the output, as a user typed it."""
        if self.choices:
            return "--choice"
        return "--json-schema" if self.schema_text is not None else "--grammar"

    def schema(self) -> dict:
        return json.loads(self.schema_text or "{}")

    def openai_bias(self) -> dict[str, float]:
        """logit_bias as OpenAI's API takes it: {"id": bias}, a ban as -100."""
        return {str(t): max(b, -OPENAI_MAX_BIAS) for t, b in self.bias}


def steering(
    params: SamplingParams,
    n_vocab: int,
    tokenize: Callable[..., list[int]] | None,
    piece: Callable[[int], bytes],
    url: str,
    unchecked_ids: str | None = None,
) -> Steering:
    """The run's constraint and its --logit-bias resolved to ids (``tokenize`` None: the
    server has no tokenizer, so only ids can be biased; ``unchecked_ids``: why an id given
    as digits cannot be checked against the server's vocabulary, where it cannot)."""
    from gptplay.engine.grammars import resolve_bias
    from gptplay.settings.bias import parse

    grammar = params.constraint()  # also refuses two constraints at once
    bias: list[tuple[int, float]] = []
    if params.logit_bias:
        keys = [k for k, _ in parse(params.logit_bias)]
        ids = [k for k in keys if isinstance(k, int)]
        if ids and unchecked_ids is not None:
            raise UsageError(
                f"--logit-bias: {url} {unchecked_ids}, so the id {ids[0]} cannot be checked.",
                hint="give the token's text instead (gptplay tokens 'TEXT' shows it): its id "
                "comes from the server's tokenizer.",
            )
        if tokenize is None:
            texts = [k for k in keys if isinstance(k, str)]
            if texts:
                raise UsageError(
                    f"--logit-bias: {url} has no tokenizer endpoint, so the token {texts[0]!r} "
                    "cannot be turned into its id.",
                    hint="give the token's id instead (gptplay tokens 'TEXT' on the same model "
                    "shows it).",
                )
            tokenize = _no_tokenizer
        bias = resolve_bias(params.logit_bias, n_vocab, tokenize, piece)
    return Steering(grammar, params.json_schema, tuple(params.choices), tuple(bias))


def _no_tokenizer(text: str, add_bos: bool = False) -> list[int]:
    raise AssertionError("only ids reach here")  # steering() refuses text keys first


def lacks(url: str, kind: str, what: str, why: str) -> UsageError:
    """The one line for a constraint a server cannot apply (exit 2, nothing sent)."""
    effect = "biased" if what == "--logit-bias" else "constrained"
    return UsageError(
        f"{what}: {url} ({kind}) {why}, so the output would not be {effect}; nothing was sent.",
        hint="serve the model with llama-server, vLLM or llama-cpp-python's server (each "
        "takes grammars and JSON schemas), or run without the constraint.",
    )


def llama_bias(steer: Steering) -> list[list]:
    """logit_bias as llama-server takes it: [[id, bias]], ``false`` for a ban."""
    return [[t, False if math.isinf(b) else b] for t, b in steer.bias]


def spaced_choices(choices: tuple[str, ...]) -> list[str]:
    """Choices with the optional leading space that --choice's grammar allows (see
    gptplay.settings.gbnf.choices_grammar), for a server that takes a plain choice list."""
    if any(c[:1].isspace() for c in choices):
        return list(choices)
    return list(choices) + [" " + c for c in choices]
