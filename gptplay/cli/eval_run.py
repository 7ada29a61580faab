"""One `gptplay eval` session: load the prompts and data, run with a progress bar, report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from gptplay.errors import UsageError
from gptplay.evaluate import (
    EvalConfig,
    Example,
    LabelScorer,
    Run,
    evaluate,
    load_examples,
    parse_field_map,
    resolve_data,
    sample_demos,
    subset,
)
from gptplay.evaluate.data import example_from_row, option_fields
from gptplay.evaluate.run import plan, seeds_text
from gptplay.evaluate.similar import EMBED, SIMILAR, SIMILAR_SELECTS
from gptplay.library import PromptSpec
from gptplay.settings import default_layer
from gptplay.settings.schema import BY_NAME

LABELS, CHOICES, GENERATE = "labels", "choices", "generate"
DEFAULT_GENERATED = 200  # --generate without --limit draws this many problems
# Generation is greedy and stops at the line's end unless the config, prompt or flags say
# otherwise; answers are short, so 32 tokens unless the prompt's max_tokens says.
GREEDY = default_layer({"temperature": 0.0, "max_tokens": 32, "stop": ("\n",)}, "eval")


@dataclass
class PromptEval:
    """One prompt of the session: how it is scored, its test examples, pool and results."""

    spec: PromptSpec
    variables: dict[str, str]
    mode: str
    choices: tuple[str, ...]
    test: list[Example] = field(default_factory=list)
    pool: list[Example] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    params: object = None  # the SamplingParams of a generation task
    reasoning: str | None = None  # --reasoning: direct or cot, for a chain-of-thought prompt
    retrieval: str | None = None  # --retrieval: none (closed book) or bm25 (--context)
    select: str | None = None  # --select: random, similar or embed demonstrations
    label: str = ""  # what the name shows of retrieval (e.g. "bm25 top-3")
    per_query: dict = field(default_factory=dict)  # query key -> its {context}
    passages: list = field(default_factory=list)  # per test example: the Hits chosen
    chosen: list = field(default_factory=list)  # per test example: pool indices, nearest last

    @property
    def name(self) -> str:
        parts = [self.spec.name, self.reasoning, self.label or self.retrieval, self.select]
        return " ".join(p for p in parts if p)


def parse_choices(text: str | None) -> tuple[str, ...]:
    """'--choices options' or '--choices a,b,c,d' as the field or columns."""
    if text is None:
        return ()
    parts = tuple(p.strip() for p in text.split(","))
    if not all(parts):
        raise UsageError(f"--choices {text!r} has an empty name.", hint="like --choices a,b,c,d")
    return parts


class EvalSession:
    """The inputs of one evaluation, checked before the model loads, and its results."""

    def __init__(
        self,
        tasks: Sequence[str],
        data: str | None,
        pool: str | None,
        fields: Sequence[str] | None,
        limit: int | None,
        variables: Mapping[str, str],
        library: str | None,
        config: EvalConfig,
        choices: str | None = None,
        generate: str | None = None,
        sampling_given: Sequence[str] = (),
        metric_given: bool = False,
        confusion: bool = False,
        reasoning: Sequence[str] = (),
        gsm8k: bool = False,
        context: str | None = None,
        context_k: int = 3,
        retrieval: Sequence[str] = (),
        select: Sequence[str] = (),
    ) -> None:
        self.tasks, self.data, self.pool_source = list(tasks), data, pool
        self.fields, self.limit, self.variables = fields, limit, dict(variables)
        self.library, self.config = library, config
        self.concurrency = 1
        self.scoring: str | None = None  # which method a remote engine scored labels with
        self.choices_flag = parse_choices(choices)
        self.sampling_given, self.metric_given = list(sampling_given), metric_given
        self.confusion = confusion
        self.reasoning, self.gsm8k = tuple(reasoning), gsm8k
        self.context, self.context_k = context, context_k
        self.retrieval, self.select = tuple(retrieval), tuple(select)
        self.index = None  # the --context index
        self.task = None
        if generate is not None:
            from gptplay.evaluate.arithmetic import parse_generate

            self.task = parse_generate(generate)
        self.prompts: list[PromptEval] = []
        self.data_path: Path | None = None

    @property
    def spec(self) -> PromptSpec:
        """The first prompt (the one a single-prompt session evaluates)."""
        return self.prompts[0].spec

    @property
    def runs(self) -> list[Run]:
        """The first prompt's runs."""
        return self.prompts[0].runs

    # ---- before the model loads ----------------------------------------------------

    def prepare(self) -> None:
        """Load and check the prompts, the data and the pools: bad input fails before the model."""
        from gptplay.library import load_prompt

        if (self.data is None) == (self.task is None):
            raise UsageError(
                "give the test examples with --data FILE, or draw them with --generate TASK."
                if self.data is None
                else "--data and --generate both give test examples; use one.",
                hint="like --data dev.jsonl, or --generate 2digit-add",
            )
        if self.data is not None:
            self.data_path = resolve_data(self.data)
        from gptplay.cli.eval_axes import expand, open_axes

        self.index = open_axes(self)
        for name in self.tasks:
            spec = load_prompt(name, self.library)
            base = self._prepare_prompt(spec)
            if self.reasoning and (base.mode != GENERATE or not spec.answer_pattern):
                raise UsageError(
                    f"--reasoning is for a chain-of-thought prompt; prompt '{spec.name}' has "
                    + ("no answer_pattern." if base.mode == GENERATE else "labels or choices."),
                    hint="add answer_pattern = 'The answer is (-?\\d+)' and reasoning "
                    "demonstrations, or use the built-in word-problems prompt.",
                )
            # the same test examples, each way of answering (--reasoning, --retrieval, --select)
            self.prompts += expand(self, base)
        self._check_options()
        first = self.prompts[0]
        for pe in self.prompts:
            pe.pool = self._pool(pe, first)
            if pe.select in SIMILAR_SELECTS:
                self._check_pool_size(pe)
                continue
            for shots, seed in plan(self.config):  # a pool too small fails now, not mid-run
                sample_demos(pe.pool, shots, seed or 0, pe.spec.labels, self.config.balanced)
        from gptplay.cli.eval_axes import choose_similar, retrieve_all

        for pe in self.prompts:
            retrieve_all(self, pe)
            if pe.select == SIMILAR:
                choose_similar(self, pe)

    def _check_pool_size(self, pe: PromptEval) -> None:
        """--select similar: the pool must hold the most shots asked for."""
        most = max(self.config.shots)
        if most > len(pe.pool):
            raise UsageError(
                f"{most} shots need {most} demonstrations but the pool holds {len(pe.pool)}.",
                hint="lower --shots, or pass a larger --pool file.",
            )

    def _prepare_prompt(self, spec: PromptSpec) -> PromptEval:
        choices = self.choices_flag or spec.choices
        mode = CHOICES if choices else LABELS if spec.labels and self.task is None else GENERATE
        variables = dict(self.variables)
        if self.task is not None:
            variables |= self.task.variables_for(spec)
        if self.context is not None:
            from gptplay.retrieval import CONTEXT_VAR, check_prompt

            check_prompt(spec)
            variables.setdefault(CONTEXT_VAR, "")  # closed book; bm25 fills it per query
        spec.resolve_variables(variables)
        pe = PromptEval(spec, variables, mode, choices)
        if self.task is not None:
            pe.test, _ = self.task.examples(spec, self.limit or DEFAULT_GENERATED)
        else:
            assert self.data_path is not None
            columns = parse_field_map(self.fields, spec)
            pe.test = subset(self._load(self.data_path, spec, columns, choices), self.limit)
        return pe

    def _load(self, path: Path, spec: PromptSpec, columns, choices) -> list[Example]:
        """Rows of a data file: as the task's fields, or as GSM8K's question and answer."""
        if self.gsm8k:
            from gptplay.evaluate.gsm8k import load_gsm8k

            return load_gsm8k(path, spec)
        return load_examples(path, spec, columns, choices)

    def _check_options(self) -> None:
        """Options that only one way of scoring understands, named with the prompt."""
        c = self.config
        label_only = {
            "--calibrate": c.calibrate,
            "--confusion": self.confusion,
            "--balanced": c.balanced,
            "--length-norm": c.length_norm,
        }
        gen_only = {"--samples": c.samples != 1, "--metric": self.metric_given}
        gen_only |= {"--vote": c.vote, "--gsm8k": self.gsm8k}
        gen_only |= {BY_NAME[name].flag: True for name in self.sampling_given}
        if any(s in SIMILAR_SELECTS for s in self.select):
            for flag, used in (("--calibrate", c.calibrate), ("--balanced", c.balanced)):
                if used:
                    raise UsageError(
                        f"{flag} draws demonstrations at random; --select similar or embed "
                        "chooses them per example.",
                        hint=f"drop {flag}, or use --select random.",
                    )
        for pe in self.prompts:
            what = {
                LABELS: "scores its labels",
                CHOICES: "scores each example's choices",
                GENERATE: "generates answers (it has no labels)",
            }[pe.mode]
            wrong = [o for o, used in label_only.items() if used and pe.mode != LABELS]
            wrong += [o for o, used in gen_only.items() if used and pe.mode != GENERATE]
            if wrong:
                raise UsageError(
                    f"{wrong[0]} does not apply to prompt '{pe.name}': eval {what}.",
                    hint="--calibrate, --balanced, --length-norm and --confusion are for labels; "
                    "--samples, --metric and the sampling flags for generation.",
                )

    def _pool(self, pe: PromptEval, first: PromptEval) -> list[Example]:
        """Demonstrations: --pool, the problems --generate draws, or the first prompt's examples."""
        if self.pool_source is not None:
            columns = parse_field_map(self.fields, pe.spec)
            return self._load(resolve_data(self.pool_source), pe.spec, columns, pe.choices)
        if self.task is not None:
            return self.task.examples(pe.spec, 1)[1]
        source = first.spec.source or Path(f"prompt '{first.name}'")
        choices = pe.choices
        rows = first.spec.examples
        if pe.mode == CHOICES and len(choices) == 1 and rows and choices[0] not in rows[0]:
            # a prompt's examples hold no lists: their options are in the fields the data's
            # option list repeats, if it repeats some
            choices = option_fields(pe.spec, pe.test) or choices
        lines = _example_lines(first.spec)
        if pe.mode == CHOICES and len(choices) == 1 and rows and choices[0] not in rows[0]:
            if max(self.config.shots) == 0:
                return []  # zero-shot needs no demonstrations
            raise UsageError(
                f"{source}:{lines.get(1, 1)}: the demonstrations are prompt '{first.name}''s "
                f"examples, which hold no '{choices[0]}' list (only the template's fields), "
                "and the data's options are not in any of those fields.",
                hint="give demonstrations with options (--pool FILE), name the option "
                "columns (--choices a,b,c,d), or --shots 0.",
            )
        return [
            example_from_row(source, lines.get(n, n), row, pe.spec, choices)
            for n, row in enumerate(rows, start=1)
        ]

    def pool_name(self) -> str:
        if self.pool_source is not None:
            return self.pool_source
        if self.task is not None:
            return f"{self.task.name} problems disjoint from the test set"
        return f"prompt '{self.prompts[0].name}' examples"

    def set_sampling(self, resolve) -> None:
        """Each generation prompt's sampler: ``resolve(spec)`` gives its resolved settings."""
        for pe in self.prompts:
            if pe.mode == GENERATE:
                pe.params = resolve(pe.spec).sampling()
                if self.config.samples > 1 and pe.params.temperature == 0:
                    raise UsageError(
                        f"--samples {self.config.samples} at temperature 0 draws the same "
                        f"answer {self.config.samples} times (prompt '{pe.name}').",
                        hint="add --temperature, like --temperature 0.7",
                    )

    # ---- with the model ----------------------------------------------------------

    def scorer(self, engine, pe: PromptEval):
        """The scorer for a prompt's way of scoring."""
        if pe.mode == LABELS:
            return LabelScorer(engine, pe.spec, pe.variables)
        if pe.mode == CHOICES:
            from gptplay.evaluate.choices import ChoiceScorer

            return ChoiceScorer(engine, pe.spec, pe.variables)
        from gptplay.evaluate.generate import Generator

        params = pe.params
        from gptplay.library.reasoning import DEFAULT_TRIGGER

        return Generator(
            engine,
            pe.spec,
            pe.variables,
            params,
            self.config.samples,
            self.config.metric,
            reasoning=pe.reasoning,
            vote=self.config.vote,
            trigger=pe.spec.cot_trigger or DEFAULT_TRIGGER,
        )

    def run(self, engine, err: Console) -> bool:
        """Score everything with a progress bar; True when Ctrl-C stopped it early."""
        from gptplay.cli.eval_view import progress_bar

        total = sum(
            len(pe.test) * len(plan(self.config, pe.select in SIMILAR_SELECTS))
            for pe in self.prompts
        )
        source = self.data_path if self.task is None else f"--generate {self.task.name}"
        for pe in self.prompts:
            how = {
                LABELS: f"labels {', '.join(shown_label(pe.spec, k) for k in pe.spec.labels)}",
                CHOICES: f"choices from {', '.join(pe.choices)}",
                GENERATE: f"generated, {self.config.metric}",
            }[pe.mode]
            if pe.mode == GENERATE and pe.spec.answer_pattern:
                how += f" of the answer {pe.spec.answer_pattern!r} finds"
                if self.config.vote:
                    how += f", majority of {self.config.samples} chains"
            if pe.mode == GENERATE:
                how += steering_note(pe.params)
            seeds = seeds_text(self.config)
            if pe.select in SIMILAR_SELECTS:
                seeds = f"demonstrations nearest each example ({pe.select})"
            if pe.retrieval == "bm25":
                how += f", {{context}}: top {self.context_k} passages by BM25"
            elif pe.retrieval == "none":
                how += ", {context} empty (closed book)"
            err.print(
                f"{pe.name}: {len(pe.test)} examples from {source}, shots "
                f"{','.join(map(str, self.config.shots))}, {seeds}, {how} · "
                f"{engine.model_name}",
                style="dim",
                markup=False,  # names and labels come from files: text, never markup
                soft_wrap=True,
            )
        with progress_bar(err) as bar:
            job = bar.add_task("scoring", total=total)
            try:
                for pe in self.prompts:
                    scorer = self.scorer(engine, pe)
                    scorer.per_query = pe.per_query
                    if pe.select == EMBED and not pe.chosen:
                        from gptplay.cli.eval_axes import choose_similar

                        bar.update(job, description=f"{pe.name}: embedding the pool")
                        choose_similar(self, pe, engine)
                    prefix = f"{pe.name} " if len(self.prompts) > 1 else ""

                    def tick(run: Run, done: int, prefix: str = prefix) -> None:
                        seed = "" if run.seed is None else f" seed {run.seed}"
                        bar.update(job, advance=1, description=f"{prefix}{run.shots}-shot{seed}")

                    chooser = None
                    if pe.select in SIMILAR_SELECTS:

                        def chooser(i: int, ex: Example, k: int, pe: PromptEval = pe):
                            return [pe.pool[j] for j in pe.chosen[i][-k:]]

                    evaluate(
                        scorer, pe.test, pe.pool, self.config, pe.runs, tick, self.concurrency,
                        chooser,
                    )  # fmt: skip
            except KeyboardInterrupt:
                return True
            finally:
                report = getattr(engine, "scoring_report", None)
                self.scoring = report() if report is not None else None
        return False

    def title(self, pe: PromptEval) -> str:
        source = Path(self.data_path).name if self.task is None else self.task.name
        return f"{pe.name} on {source} · {len(pe.test)} examples"


def steering_note(params) -> str:
    """', constrained by a grammar' (a schema, choices) and ', logit bias N tokens', or ''."""
    note = ""
    if params.grammar:
        note += ", constrained by a grammar"
    elif params.json_schema:
        note += ", constrained by a JSON schema"
    elif params.choices:
        note += f", constrained to {', '.join(params.choices)}"
    if params.logit_bias:
        note += f", logit bias on {len(params.logit_bias)} token(s)"
    return note


def shown_label(spec: PromptSpec, label: str) -> str:
    """'NUM=Number' for a mapped label ('yes=Yes/True' for several words), else the label."""
    words = spec.words(label)
    return label if words == (label,) else f"{label}={'/'.join(words)}"


def _example_lines(spec: PromptSpec) -> dict[int, int]:
    """{n: the line of the prompt file where its n-th [[examples]] starts} (1-based)."""
    from gptplay.library.locate import positions

    if spec.source is None:
        return {}
    try:
        found = positions(Path(spec.source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return {}
    return {i + 1: pos[0] for (*head, i), pos in found.items() if head == ["examples"]}
