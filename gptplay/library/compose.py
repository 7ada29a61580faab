"""Composing prompt text: instruction, K demonstrations, then the query cut."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gptplay.library.errors import PromptError
from gptplay.library.reasoning import with_trigger
from gptplay.library.spec import PromptSpec

SELECTS = ("first", "random")


@dataclass(frozen=True)
class ComposedPrompt:
    """The text to send to the model, and everything that went into it."""

    spec: PromptSpec
    text: str
    instruction: str
    demonstrations: tuple[Mapping[str, str], ...]
    demo_texts: tuple[str, ...]
    query: str
    query_fields: Mapping[str, str]
    variables: Mapping[str, str]
    stop: tuple[str, ...]
    params: Mapping[str, int | float] = field(default_factory=dict)
    seed: int | None = None
    trigger: str = ""  # the zero-shot chain-of-thought trigger after the query cut (--cot)
    left_out: int = 0  # examples equal to the query, kept out of the demonstrations

    def left_out_note(self) -> str | None:
        """What the front-ends say when an example equal to the query was kept out."""
        if not self.left_out:
            return None
        what = "an example" if self.left_out == 1 else f"{self.left_out} examples"
        return (
            f"left out {what} equal to the query from the demonstrations "
            "(--allow-query-in-demos keeps it)"
        )

    @property
    def shots(self) -> int:
        return len(self.demonstrations)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.spec.labels

    def continuation(self, answer: str) -> str:
        """The text after `self.text` that would give `answer` (for scoring a label)."""
        return self.spec.continuation(answer, self.variables)


def is_query(example: Mapping[str, str], spec: PromptSpec, query: Mapping[str, str]) -> bool:
    """Whether an example is the query itself: every query field the same (spaces trimmed)."""
    names = spec.query_fields
    if not names or not any(str(query.get(n, "")).strip() for n in names):
        return False  # an empty query is no example's
    return all(str(example.get(n, "")).strip() == str(query.get(n, "")).strip() for n in names)


def without_query(
    examples: Sequence[Mapping[str, str]], spec: PromptSpec, query: Mapping[str, str]
) -> list[Mapping[str, str]]:
    """The examples but those equal to the query: a demonstration must not give it away."""
    return [ex for ex in examples if not is_query(ex, spec, query)]


def choose(
    examples: Sequence[Mapping[str, str]],
    shots: int,
    select: str = "first",
    seed: int | None = None,
    name: str = "prompt",
    left_out: int = 0,
) -> tuple[list[Mapping[str, str]], int | None]:
    """K demonstrations: the first K, or K drawn at random (the seed used is returned)."""
    if shots < 0:
        raise PromptError("the number of shots must be 0 or more.")
    if shots > len(examples):
        less = f", {left_out} equal to the query left out" if left_out else ""
        raise PromptError(
            f"--shots {shots} asks for more demonstrations than prompt '{name}' has "
            f"({len(examples)} examples{less}).",
            hint=f"use --shots {len(examples)} or fewer, or add [[examples]] to the prompt"
            + (", or --allow-query-in-demos." if left_out else "."),
        )
    if select not in SELECTS:
        raise PromptError(f"unknown selection '{select}' (one of: {', '.join(SELECTS)}).")
    if select == "first":
        return list(examples[:shots]), None
    if seed is None:
        seed = random.SystemRandom().randrange(2**31)
    picked = random.Random(seed).sample(range(len(examples)), shots)
    return [examples[i] for i in picked], seed


def assemble(
    spec: PromptSpec,
    demonstrations: Sequence[Mapping[str, str]],
    query_fields: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
    seed: int | None = None,
    trigger: str = "",
) -> ComposedPrompt:
    """The prompt built from exactly these demonstrations and this query (then ``trigger``)."""
    values = spec.resolve_variables(variables)
    instruction = spec.render_instruction(values)
    demo_texts = tuple(spec.render_demo(d, values) for d in demonstrations)
    query = with_trigger(spec.render_query(query_fields, values), trigger)
    body = spec.separator.join((*demo_texts, query))
    text = instruction + spec.joiner + body if instruction else body
    return ComposedPrompt(
        spec=spec,
        text=text,
        instruction=instruction,
        demonstrations=tuple(demonstrations),
        demo_texts=demo_texts,
        query=query,
        query_fields=dict(query_fields),
        variables=values,
        stop=spec.stop,
        params=dict(spec.params),
        seed=seed,
        trigger=trigger,
    )


def split_inputs(
    spec: PromptSpec, text: str | None, values: Mapping[str, str] | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """Sort INPUT and KEY=VALUE pairs into query fields and variables.

    INPUT fills the first query field; a KEY=VALUE pair fills a query field or a variable.
    """
    fields: dict[str, str] = {}
    variables: dict[str, str] = {}
    for key, value in (values or {}).items():
        if key in spec.query_fields:
            fields[key] = value
        elif key in spec.variables:
            variables[key] = value
        else:
            known = ", ".join((*spec.query_fields, *spec.variables))
            raise PromptError(
                f"prompt '{spec.name}' has no field or variable '{key}' (it has: {known})."
            )
    if text is not None:
        first = spec.query_fields[0]
        if first in fields:
            raise PromptError(f"the input and --var {first}=... both set the field '{first}'.")
        fields[first] = text
    return fields, variables


def compose(
    spec: PromptSpec,
    shots: int,
    query_fields: Mapping[str, str],
    variables: Mapping[str, str] | None = None,
    select: str = "first",
    seed: int | None = None,
    examples: Sequence[Mapping[str, str]] | None = None,
    trigger: str = "",
    allow_query: bool = False,
) -> ComposedPrompt:
    """Instruction + K demonstrations (from spec.examples, or `examples`) + the query cut.

    An example equal to the query is not a demonstration unless ``allow_query``: the
    prompt would hold its own answer (``left_out`` says how many were kept out).
    """
    pool = spec.examples if examples is None else examples
    kept = list(pool) if allow_query else without_query(pool, spec, query_fields)
    left_out = len(pool) - len(kept)
    chosen, used_seed = choose(kept, shots, select, seed, spec.name, left_out)
    composed = assemble(spec, chosen, query_fields, variables, used_seed, trigger)
    return replace(composed, left_out=left_out)


def fit(
    composed: ComposedPrompt, count: Callable[[str], int], limit: int
) -> tuple[ComposedPrompt, int, int]:
    """Drop demonstrations from the end until the text's token count is at most `limit`.

    Returns the prompt that fits, how many demonstrations were dropped, and its token count;
    a PromptError when even the zero-shot prompt does not fit.
    """
    demos = list(composed.demonstrations)
    spec = composed.spec
    while True:
        candidate = assemble(
            spec, demos, composed.query_fields, composed.variables, composed.seed, composed.trigger
        )
        candidate = replace(candidate, left_out=composed.left_out)
        n = count(candidate.text)
        if n <= limit:
            return candidate, composed.shots - len(demos), n
        if not demos:
            raise PromptError(
                f"even with no demonstrations the prompt is {n} tokens, over the {limit} that fit.",
                hint="shorten the input, lower --max-tokens, or raise --ctx.",
            )
        demos.pop()
