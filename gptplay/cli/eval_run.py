"""One `gptplay eval` session: load the prompt and data, run with a progress bar, report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    shot_confusion,
    subset,
    summarize,
    to_json,
)
from gptplay.evaluate.metrics import majority
from gptplay.evaluate.run import plan


class EvalSession:
    """The inputs of one evaluation, checked before the model loads, and its results."""

    def __init__(
        self,
        task: str,
        data: str,
        pool: str | None,
        fields: Sequence[str] | None,
        limit: int | None,
        variables: Mapping[str, str],
        library: str | None,
        config: EvalConfig,
    ) -> None:
        self.task, self.data, self.pool_source = task, data, pool
        self.fields, self.limit, self.variables = fields, limit, dict(variables)
        self.library, self.config = library, config
        self.runs: list[Run] = []
        self.test: list[Example] = []
        self.pool: list[Example] = []

    def prepare(self) -> None:
        """Load and check the prompt, the data and the pool: bad input fails before the model."""
        from gptplay.library import load_prompt

        spec = load_prompt(self.task, self.library)
        if not spec.labels:
            raise UsageError(
                f"prompt '{spec.name}' has no labels, so there is nothing to score.",
                hint="evaluate a classification prompt (e.g. sentiment, topic, sst2) or add "
                "labels = [...] to the prompt file.",
            )
        spec.resolve_variables(self.variables)
        self.spec = spec
        columns = parse_field_map(self.fields, spec)
        self.data_path = resolve_data(self.data)
        self.test = subset(load_examples(self.data_path, spec, columns), self.limit)
        if self.pool_source is None:
            answer = spec.answer
            self.pool = [
                Example({f: ex[f] for f in spec.query_fields}, ex[answer], n)
                for n, ex in enumerate(spec.examples, start=1)
            ]
        else:
            self.pool = load_examples(resolve_data(self.pool_source), spec, columns)
        from gptplay.evaluate import sample_demos

        for shots, seed in plan(self.config):  # a pool too small fails now, not mid-run
            sample_demos(self.pool, shots, seed or 0, spec.labels, self.config.balanced)

    def run(self, engine, err: Console) -> bool:
        """Score everything with a progress bar; True when Ctrl-C stopped it early."""
        from gptplay.cli.eval_view import progress_bar

        scorer = LabelScorer(engine, self.spec, self.variables)
        total = len(self.test) * len(plan(self.config))
        err.print(
            f"{self.spec.name}: {len(self.test)} examples from {self.data_path}, "
            f"shots {','.join(map(str, self.config.shots))}, {self.config.seeds} seeds, "
            f"labels {', '.join(self.spec.labels)} · {engine.model_name}",
            style="dim",
            markup=False,
            soft_wrap=True,
        )
        with progress_bar(err) as bar:
            job = bar.add_task("scoring", total=total)

            def tick(run: Run, done: int) -> None:
                seed = "" if run.seed is None else f" seed {run.seed}"
                bar.update(job, advance=1, description=f"{run.shots}-shot{seed}")

            try:
                evaluate(scorer, self.test, self.pool, self.config, self.runs, tick)
            except KeyboardInterrupt:
                return True
        return False

    def title(self) -> str:
        return f"{self.spec.name} on {Path(self.data_path).name} · {len(self.test)} examples"

    def report(self, out: Console, show_confusion: bool) -> None:
        """The results table, the chart, the baseline, and confusion matrices if asked."""
        from gptplay.cli.eval_view import chart, confusion_table, results_table

        summaries = summarize(self.runs, self.spec.labels)
        if not summaries:
            out.print("no example was scored.")
            return
        base_label, base = majority([e.label for e in self.test])
        out.print(results_table(summaries, self.title()))
        if any(not s.complete for s in summaries):
            out.print("[dim]* unfinished: the figures cover the examples scored so far.[/]")
        out.print(f"majority class ({base_label}): {100 * base:.1f}%", markup=False)
        out.print()
        out.print(chart(summaries, base))
        if show_confusion:
            labels = self.spec.labels
            for s in summaries:
                for cal in (False, True) if s.calibrated is not None else (False,):
                    matrix = shot_confusion(self.runs, s.shots, labels, calibrated=cal)
                    what = "calibrated, " if cal else ""
                    seeds = f"{s.runs} seed{'' if s.runs == 1 else 's'}"
                    title = f"{s.shots}-shot ({what}summed over {seeds})"
                    out.print(confusion_table(matrix, labels, title))

    def record(self, model: str, interrupted: bool) -> dict:
        """The JSON written by --output."""
        meta = {
            "task": self.spec.name,
            "template": self.spec.template,
            "model": model,
            "data": str(self.data_path),
            "pool": self.pool_source or f"prompt '{self.spec.name}' examples",
        }
        return to_json(
            self.runs,
            self.spec.labels,
            self.config,
            meta,
            [e.line for e in self.test],
            [e.label for e in self.test],
            interrupted,
        )

    def write_plot(self, path: Path) -> None:
        from gptplay.evaluate.plot import write_png

        summaries = summarize(self.runs, self.spec.labels)
        base = majority([e.label for e in self.test])[1]
        write_png(path, summaries, base, self.title())
