"""What the composer holds: a prompt spec, demonstrations in order (each in or out), the query.

No Textual here: the composer widget edits a Composition and asks it for the prompt text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from gptplay.library import ComposedPrompt, PromptSpec, assemble, without_query

PLAIN = "complete"  # the name a plain prompt goes by in the composer (Ctrl+S: my-complete)


def shots_label(n: int) -> str:
    """zero-shot, one-shot or N-shot (few-shot), as the GPT-3 paper names them."""
    return {0: "zero-shot", 1: "one-shot"}.get(n, f"{n}-shot (few-shot)")


@dataclass
class Composition:
    """A prompt being composed: demonstrations reordered and included or excluded, the query."""

    spec: PromptSpec
    order: list[int] = field(default_factory=list)
    included: set[int] = field(default_factory=set)
    instruction: str = ""
    query: dict[str, str] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    allow_query: bool = False  # keep a demonstration equal to the query (as the CLI's flag)

    @classmethod
    def of(cls, spec: PromptSpec, shots: int = 3) -> Composition:
        """The spec's examples in file order, the first ``shots`` included, an empty query."""
        n = len(spec.examples)
        variables = {name: v.default or "" for name, v in spec.variables.items()}
        return cls(
            spec=spec,
            order=list(range(n)),
            included=set(range(min(shots, n))),
            instruction=spec.instruction,
            query=dict.fromkeys(spec.query_fields, ""),
            variables=variables,
        )

    @classmethod
    def plain(cls, text: str, title: str) -> Composition:
        """A prompt typed as it is (`gptplay complete`): one query field holding the text."""
        spec = PromptSpec(
            name=PLAIN,
            title=title,
            kind="completion",
            template="{prompt}{output}",
            answer="output",
            description="the text of a `gptplay complete` run, as it was sent",
        )
        composition = cls.of(spec, 0)
        composition.query["prompt"] = text
        return composition

    @property
    def shots(self) -> int:
        return len(self.included)

    def set_shots(self, k: int) -> None:
        """Include the first ``k`` demonstrations in the current order (clamped to what exists)."""
        k = max(0, min(k, len(self.order)))
        self.included = set(self.order[:k])

    def toggle(self, example: int) -> None:
        self.included ^= {example}

    def move(self, example: int, delta: int) -> None:
        """Move a demonstration up (-1) or down (+1) in the order."""
        i = self.order.index(example)
        j = max(0, min(len(self.order) - 1, i + delta))
        self.order.insert(j, self.order.pop(i))

    def demonstrations(self) -> list[Mapping[str, str]]:
        """The included examples, in the current order."""
        return [self.spec.examples[i] for i in self.order if i in self.included]

    def effective_spec(self) -> PromptSpec:
        """The spec with the composer's instruction (the user may have edited it)."""
        return replace(self.spec, instruction=self.instruction)

    def compose(self) -> ComposedPrompt:
        """The exact prompt text (raises PromptError for an unknown placeholder and the like).

        A demonstration equal to the query is left out (``left_out`` counts it), as
        `gptplay fewshot` leaves it out, unless ``allow_query``.
        """
        demos = self.demonstrations()
        kept = demos if self.allow_query else without_query(demos, self.spec, self.query)
        composed = assemble(self.effective_spec(), kept, self.query, self.variables)
        return replace(composed, left_out=len(demos) - len(kept))

    def as_spec(self, name: str, params: Mapping[str, int | float]) -> PromptSpec:
        """A new prompt: this instruction, the included demonstrations in order, these params."""
        return replace(
            self.effective_spec(),
            name=name,
            examples=tuple(self.demonstrations()),
            params=dict(params),
            source=None,
            builtin=False,
        )
