"""The prompt spec: one prompt file, validated, and how it renders demonstrations and queries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from gptplay.library import template as tpl
from gptplay.library.errors import PromptError
from gptplay.settings import Layer, names_for, prompt_layer
from gptplay.settings.schema import PROMPT

KINDS = (
    "completion",
    "translation",
    "classification",
    "entailment",
    "similarity",
    "multiple-choice",
    "arithmetic",
    "unscramble",
    "qa",
    "chat",
)

# The settings a prompt's [params] may set (its stop sequences are the top-level `stop`).
PARAM_NAMES: tuple[str, ...] = tuple(n for n in names_for(PROMPT) if n != "stop")


@dataclass(frozen=True)
class Variable:
    """A value the instruction or template uses that is not a field of the examples."""

    name: str
    default: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ChatRoles:
    """How a dialogue scaffold marks turns: `User:` / `Assistant:` and the turn separator."""

    user_field: str
    assistant_field: str
    user_prefix: str
    assistant_prefix: str


@dataclass(frozen=True)
class PromptSpec:
    """A validated prompt: instruction, a template for one demonstration, and examples.

    A demonstration is ``template`` with every field filled. The query is the same
    template cut just before ``{answer}`` (trailing spaces dropped, since they belong to
    the answer's first token), so
    ``render_demo(f) == render_query(f) + continuation(answer_text(f[answer]))``.
    ``labels`` are the data's values; ``label_words`` maps a label to the words the model
    writes for it (the first is the one demonstrations show). ``choices`` names where each
    example's own options are: one field holding a list, or several columns.
    """

    name: str
    title: str
    kind: str
    template: str
    answer: str
    description: str = ""
    instruction: str = ""
    separator: str = "\n"
    instruction_separator: str | None = None
    labels: tuple[str, ...] = ()
    label_words: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    choices: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    params: Mapping[str, int | float] = field(default_factory=lambda: MappingProxyType({}))
    variables: Mapping[str, Variable] = field(default_factory=lambda: MappingProxyType({}))
    examples: tuple[Mapping[str, str], ...] = ()
    answer_pattern: str | None = None  # chain of thought: group 1 is the answer
    cot_trigger: str | None = None  # what --cot appends to the query (default: reasoning.py's)
    source: Path | None = None
    builtin: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        """The template's fields (placeholders that are not variables), in order."""
        return tuple(n for n in tpl.placeholders(self.template) if n not in self.variables)

    @property
    def query_fields(self) -> tuple[str, ...]:
        """The fields a query must fill: every field but the answer."""
        return tuple(n for n in self.fields if n != self.answer)

    def words(self, label: str) -> tuple[str, ...]:
        """The words the model writes for a label (the label itself unless mapped)."""
        return self.label_words.get(label, (label,))

    def label_of(self, value: str) -> str | None:
        """The label a data value or demonstration answer means: a label or one of its words."""
        if value in self.labels:
            return value
        return next((k for k in self.labels if value in self.words(k)), None)

    def answer_text(self, value: str) -> str:
        """What a demonstration shows for an answer: a label's first word, else the value."""
        return self.words(value)[0] if value in self.labels else value

    @property
    def joiner(self) -> str:
        """What follows the instruction (the separator unless set on its own)."""
        return self.separator if self.instruction_separator is None else self.instruction_separator

    def settings_layer(self) -> Layer:
        """The prompt's [params] and stop sequences as its layer of settings."""
        where = str(self.source) if self.source else f"'{self.name}'"
        return prompt_layer(self.params, self.stop, where)

    def resolve_variables(self, given: Mapping[str, str] | None = None) -> dict[str, str]:
        """Defaults overlaid with given values; a missing or unknown variable is an error."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.variables))
        if unknown:
            known = ", ".join(self.variables) or "none"
            raise PromptError(
                f"prompt '{self.name}' has no variable '{unknown[0]}' (its variables: {known}).",
            )
        values: dict[str, str] = {}
        for name, var in self.variables.items():
            value = given.get(name, var.default)
            if value is None:
                raise PromptError(
                    f"prompt '{self.name}' needs the variable '{name}'"
                    + (f" ({var.description})" if var.description else "")
                    + ".",
                    hint=f"pass --var {name}=VALUE.",
                )
            values[name] = value
        return values

    def render_instruction(self, variables: Mapping[str, str] | None = None) -> str:
        """The instruction with its variables filled."""
        return tpl.render(self.instruction, self.resolve_variables(variables))

    def render_demo(self, fields: Mapping[str, str], variables: Mapping[str, str] | None = None):
        """One demonstration: the template with every field (answer included) filled."""
        self._check_fields(fields, self.fields)
        fields = {**fields, self.answer: self.answer_text(fields[self.answer])}
        return tpl.render(self.template, {**self.resolve_variables(variables), **fields})

    def render_query(self, fields: Mapping[str, str], variables: Mapping[str, str] | None = None):
        """The query cut: the template up to where the answer goes, trailing spaces dropped."""
        self._check_fields(fields, self.query_fields)
        before, _ = tpl.split_at(self.template, self.answer)
        text = tpl.render(before, {**self.resolve_variables(variables), **fields})
        return text.rstrip(" \t")

    def continuation(self, answer: str, variables: Mapping[str, str] | None = None) -> str:
        """What follows the query cut in a demonstration whose answer is `answer`."""
        before, _ = tpl.split_at(self.template, self.answer)
        dummy = dict.fromkeys(self.query_fields, "")
        text = tpl.render(before, {**self.resolve_variables(variables), **dummy})
        return text[len(text.rstrip(" \t")) :] + answer

    def chat_roles(self, variables: Mapping[str, str] | None = None) -> ChatRoles:
        """The role prefixes of a dialogue scaffold (template `User: {user}\\nAssistant: {bot}`)."""
        if len(self.query_fields) != 1:
            raise PromptError(
                f"prompt '{self.name}' is not a dialogue scaffold: its template needs exactly "
                "two fields, the user's turn and the answer."
            )
        user = self.query_fields[0]
        head, rest = tpl.split_at(self.template, user)
        middle, _ = tpl.split_at(rest, self.answer)
        values = {**self.resolve_variables(variables), user: "", self.answer: ""}
        return ChatRoles(
            user_field=user,
            assistant_field=self.answer,
            user_prefix=tpl.render(head, values).strip(),
            assistant_prefix=tpl.render(middle, values).strip(),
        )

    def check_query(self, fields: Mapping[str, str]) -> None:
        """A query to run: every query field given and not blank (the CLI's and the TUI's rule)."""
        self._check_fields(fields, self.query_fields)
        blank = next((n for n in self.query_fields if not fields[n].strip()), None)
        if blank is not None:
            raise PromptError(
                f"prompt '{self.name}' needs a value for the field '{blank}': it is empty.",
                hint=f"pass it as the input or with --var {blank}=TEXT.",
            )

    def _check_fields(self, given: Mapping[str, str], needed: tuple[str, ...]) -> None:
        """A PromptError naming the first field that was not given."""
        for name in needed:
            if name not in given:
                raise PromptError(
                    f"prompt '{self.name}' needs a value for the field '{name}'.",
                    hint=f"pass it as the input or with --var {name}=TEXT.",
                )
