"""The steps of one `gptplay fewshot` run, apart from flag parsing and printing."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from gptplay.cli.fewshot import cot_trigger
from gptplay.cli.options import Flags
from gptplay.engine.types import SamplingParams
from gptplay.errors import ContextOverflowError, UsageError
from gptplay.evaluate.similar import EMBED, SIMILAR, compose_similar
from gptplay.library import (
    ComposedPrompt,
    Library,
    PromptSpec,
    Variable,
    compose,
    fit,
    save_spec,
    split_inputs,
)
from gptplay.library.spec import PARAM_NAMES
from gptplay.settings import Resolved


@dataclass
class FewshotRun:
    """A prompt from the library composed with K demonstrations, its parameters and its fit."""

    task: str
    text: str | None
    values: dict[str, str]
    shots: int
    select: str
    library: str | None
    flags: Flags = field(default_factory=Flags)
    cot: bool = False
    cot_trigger: str | None = None
    allow_query: bool = False  # --allow-query-in-demos
    context: str | None = None  # --context DIR_OR_FILE: passages fill {context}
    context_k: int = 3
    spec: PromptSpec | None = None
    composed: ComposedPrompt | None = None
    settings: Resolved | None = None
    params: SamplingParams | None = None
    lib: Library | None = field(default=None, repr=False)
    index: object = field(default=None, repr=False)  # the --context index
    hits: list = field(default_factory=list)  # the passages --context chose

    def prepare(self) -> None:
        """Load the prompt, compose it and settle the sampling parameters (no model needed)."""
        self.lib = Library.default(self.library)
        self.spec = self.lib.load(self.task)
        self.settings = self.flags.settings(self.spec.settings_layer())
        fields, variables = split_inputs(self.spec, self.text, self.values)
        self.spec.check_query(fields)
        trigger = cot_trigger(self.spec, self.cot, self.cot_trigger)
        variables = self._retrieve(fields, variables)
        if self.select == SIMILAR:
            self.composed = compose_similar(self.spec, self.shots, fields, variables, trigger)
        else:  # --select embed: the first K until the model loads (choose_by_embedding)
            select = "first" if self.select == EMBED else self.select
            self.composed = compose(
                self.spec, self.shots, fields, variables, select, self.seed, trigger=trigger,
                allow_query=self.allow_query,
            )  # fmt: skip
        self.params = self.settings.sampling()

    def _retrieve(self, fields: dict[str, str], variables: dict[str, str]) -> dict[str, str]:
        """--context: {context} filled with the passages that best match the query."""
        from gptplay.cli.context_view import open_context

        self.index = open_context(self.context, self.spec)
        if self.index is None:
            return variables
        from gptplay.retrieval import CONTEXT_VAR, retrieve_into

        if CONTEXT_VAR in variables:
            raise UsageError(
                f"--context and --var {CONTEXT_VAR}=... both fill {{{CONTEXT_VAR}}}.",
                hint="drop one of them.",
            )
        variables, self.hits = retrieve_into(self.index, self.context_k, fields, variables)
        return variables

    def choose_by_embedding(self, engine) -> None:
        """--select embed: the demonstrations nearest the query in the model's embeddings."""
        c = self.composed
        self.composed = compose_similar(
            self.spec, self.shots, c.query_fields, c.variables, c.trigger, engine=engine
        )

    @property
    def seed(self) -> int | None:
        """--seed: it also picks the demonstrations of --select random."""
        return self.flags.given.get("seed")  # type: ignore[return-value]

    def saved_spec(self) -> PromptSpec:
        """The composed prompt as a spec: chosen demonstrations, variables and parameters."""
        spec, c = self.spec, self.composed
        variables = {
            name: Variable(name, c.variables[name], var.description)
            for name, var in spec.variables.items()
        }
        given = {k: v for k, v in self.flags.given.items() if k in PARAM_NAMES}
        params = {**spec.params, **given}
        return replace(
            spec,
            examples=c.demonstrations,
            variables=MappingProxyType(variables),
            params=MappingProxyType(params),
            stop=tuple(self.params.stop),
        )

    def save(self, name: str) -> tuple[Path, bool]:
        """Write the composed prompt into the user library; True when it updated a file."""
        path = self.lib.user_path(name)
        existed = path.exists()
        header = f"Saved by gptplay fewshot {self.task} --shots {self.composed.shots}."
        save_spec(self.saved_spec(), path, header=header)
        return path, existed

    def measure(self, engine, fit_ctx: bool) -> tuple[int, int]:
        """The prompt's token count, fitting it to the context first when asked."""
        n = len(engine.tokenize(self.composed.text))
        if fit_ctx:
            limit = engine.n_ctx - self.params.max_tokens
            count = lambda text: len(engine.tokenize(text))  # noqa: E731
            self.composed, dropped, n = fit(self.composed, count, max(limit, 1))
            return n, dropped
        try:
            engine.check_fits(n, f"prompt with {self.composed.shots} demonstrations")
        except ContextOverflowError as exc:
            exc.hint = (
                "pass --fit to drop demonstrations from the end, lower --shots, or raise --ctx."
            )
            raise
        return n, 0

    def describe(self, n_prompt: int, n_ctx: int, dropped: int) -> str:
        """One line: which prompt, how many shots, how much of the context it uses."""
        c = self.composed
        shots = {0: "zero-shot", 1: "one-shot"}.get(c.shots, f"{c.shots}-shot")
        line = f"{self.spec.name} · {shots}"
        if c.seed is not None:
            line += f" (random, seed {c.seed})"
        if c.trigger:
            line += f" · chain of thought ({c.trigger!r})"
        if dropped:
            line += f" · dropped {dropped} demonstration(s) to fit"
        return f"{line} · prompt {n_prompt} of {n_ctx} context tokens"

    def record(self, n_prompt: int, n_ctx: int, dropped: int) -> dict:
        """The JSON record describing the composed prompt (first line of --json)."""
        c = self.composed
        return {
            "type": "prompt",
            "task": self.spec.name,
            "shots": c.shots,
            "dropped": dropped,
            "select_seed": c.seed,
            "text": c.text,
            "prompt_tokens": n_prompt,
            "n_ctx": n_ctx,
            "query": dict(c.query_fields),
            "variables": dict(c.variables),
            "demonstrations": [dict(d) for d in c.demonstrations],
            "left_out": c.left_out,
            "stop": list(self.params.stop),
            "cot_trigger": c.trigger or None,
            "answer_pattern": self.spec.answer_pattern,
            "select": self.select,
        }
