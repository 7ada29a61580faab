"""The Compare tab: 2 to 4 variants of the Playground's prompt, streamed side by side.

The variants run one after another in a worker (one llama context), in the library's
order that keeps shared prompt prefixes in the KV cache; a timer drains their tokens
into the columns. The columns scroll together; the cursor in one highlights the same
position in the others; the divergence point is marked; Enter sends a column to the
Playground.
"""

from __future__ import annotations

import math
from collections import deque

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Select, Static
from textual.worker import get_current_worker

from gptplay import compare, render
from gptplay.engine.types import TokenEvent
from gptplay.errors import GptplayError
from gptplay.render import visible
from gptplay.tui.compare_variants import AXES, MAX_VARIANTS, Recipe, build
from gptplay.tui.compare_view import CompareView, subtitle
from gptplay.tui.generation import FRAME_S
from gptplay.tui.inspector import Inspector

START_VALUES = {"shots": "0,1,3", "temperature": "0,0.8", "task": "", "model": "current,"}


class ComparePane(Vertical):
    """The axis and its values, the columns, an inspector, and a line about the divergence."""

    class Send(Message):
        """Enter on a column: the Playground should take this variant's recipe and output."""

        def __init__(self, recipe: Recipe, result: compare.VariantResult) -> None:
            super().__init__()
            self.recipe, self.result = recipe, result

    DEFAULT_CSS = """
    ComparePane { height: 1fr; }
    #cmp-controls { height: 1; }
    #cmp-controls Select { width: 18; }
    #cmp-controls Input { width: 30; margin: 0 1; }
    #cmp-hint { width: 1fr; }
    #cmp-legend { height: auto; padding: 0 1; }
    #cmp-main { height: 1fr; }
    .cmp-col { width: 1fr; border: round $primary 40%; border-title-color: $text; }
    .cmp-col:focus-within { border: round $accent; }
    .cmp-col CompareView { height: 1fr; }
    /* a column's figures wrap under its tokens: a border subtitle was cut at 80 columns */
    .cmp-foot { height: auto; color: $text-muted; border-top: solid $primary 30%; }
    #cmp-inspector { width: 36%; min-width: 34; max-width: 42; height: 1fr; }
    #cmp-inspector { border: round $primary 40%; }
    #cmp-note { height: auto; max-height: 3; padding: 0 1; }
    """

    def __init__(
        self, generator, top: int = 10, engine_factory=None, history_on: bool = False, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.top = top
        self.engine = None
        self.engine_factory = engine_factory  # loads another model for the "model" axis
        self.history_on = history_on
        self.busy = False
        self.run_id = 0
        self.queue: deque[tuple[int, int, TokenEvent]] = deque()
        self.variants: list[compare.Variant] = []
        self.recipes: list[Recipe] = []
        self.results: list[compare.VariantResult] = []
        self.divergence: compare.Divergence | None = None
        self.note = "choose what to compare, then Ctrl+R"

    def compose(self) -> ComposeResult:
        with Horizontal(id="cmp-controls"):
            yield Label("compare", classes="pname")
            options = [(name, name) for name in AXES]
            yield Select(options, value="shots", allow_blank=False, id="cmp-axis", compact=True)
            yield Input(START_VALUES["shots"], id="cmp-values", compact=True)
            yield Static(Text(AXES["shots"][0], "dim"), id="cmp-hint")
        yield Static(render.legend(), id="cmp-legend")
        with Horizontal(id="cmp-main"):
            with Horizontal(id="cmp-columns"):
                for n in range(MAX_VARIANTS):
                    with Vertical(classes="cmp-col", id=f"cmp-col-{n}"):
                        yield CompareView(n, id=f"cmp-view-{n}")
                        yield Static("", classes="cmp-foot", id=f"cmp-foot-{n}")
            yield Inspector(branching=False, id="cmp-inspector")
        yield Static("", id="cmp-note")

    def on_mount(self) -> None:
        self.query_one("#cmp-inspector", Inspector).show(None, None)
        self._timer = self.set_interval(FRAME_S, self._flush, pause=True)
        self._show_columns(2)

    def foot(self, n: int, text: str) -> None:
        """The figures under column ``n`` (tokens, mean logprob, finish, rate), wrapped."""
        self.query_one(f"#cmp-foot-{n}", Static).update(Text(text))

    def footer_text(self, n: int) -> str:
        return str(self.query_one(f"#cmp-foot-{n}", Static).render())

    def set_engine(self, engine) -> None:
        self.engine = engine

    def views(self) -> list[CompareView]:
        return [self.query_one(f"#cmp-view-{n}", CompareView) for n in range(MAX_VARIANTS)]

    def _show_columns(self, n: int) -> None:
        for k in range(MAX_VARIANTS):
            self.query_one(f"#cmp-col-{k}").display = k < n

    @on(Select.Changed, "#cmp-axis")
    def _axis(self, event: Select.Changed) -> None:
        self.query_one("#cmp-values", Input).value = START_VALUES[str(event.value)]
        self.query_one("#cmp-hint", Static).update(Text(AXES[str(event.value)][0], "dim"))

    @on(Input.Submitted, "#cmp-values")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.RunRequested())

    class RunRequested(Message):
        """Enter in the values field: the app runs the comparison from the Playground's prompt."""

    # ---- running ----------------------------------------------------------------

    def run(self, base, params, library) -> None:
        """Build the variants from the Playground's composition and parameters, and run them."""
        if self.engine is None:
            raise GptplayError("the model is still loading.")
        if self.busy or self.generator.lock.locked():
            raise GptplayError("something is streaming (Escape stops it).")
        axis = str(self.query_one("#cmp-axis", Select).value)
        text = self.query_one("#cmp-values", Input).value
        self.variants, self.recipes = build(axis, text, base, params, library)
        self.results, self.divergence = [], None
        self._show_columns(len(self.variants))
        for view, variant in zip(self.views(), self.variants):
            view.clear()
            view.mark()
            col = view.parent
            col.border_title = variant.label
            self.foot(view.column, "waiting")
        self.query_one("#cmp-inspector", Inspector).show(None, None)
        self.query_one("#cmp-note", Static).update(Text(f"seed {variant.params.seed}", "dim"))
        self.run_id += 1
        self.busy = True
        self.note = f"running {len(self.variants)} variants · Escape stops"
        self._timer.resume()
        self._run(self.run_id, list(self.variants))

    @work(thread=True, exclusive=True, group="compare")
    def _run(self, run_id: int, variants: list[compare.Variant]) -> None:
        worker = get_current_worker()
        engine, factory = self.engine, self.engine_factory

        def engine_for(model: str | None):
            if model in (None, "current", engine.model_name) or factory is None:
                return engine
            return factory(model)

        def started(pos: int, ids: list[int]) -> None:
            self.queue.append((run_id, pos, None))

        try:
            with self.generator.lock:
                results = compare.generate(
                    variants,
                    engine_for,
                    top=self.top,
                    on_start=started,
                    on_event=lambda pos, e: self.queue.append((run_id, pos, e)),
                    on_done=self._recorder(),
                    cancel=lambda: worker.is_cancelled,
                )
                div = compare.divergence(results, engine)
        except GptplayError as exc:
            self.app.call_from_thread(self._failed, run_id, exc)
            return
        self.app.call_from_thread(self._finished, run_id, results, div)

    def _recorder(self):
        """Each finished variant into the history, grouped as one comparison (or nothing)."""
        if not self.history_on:
            return None
        from gptplay.compare import stored

        group = stored.new_group()
        return lambda result, engine: stored.record(result, engine, group, warn=self._warn)

    def _warn(self, text: str) -> None:
        self.app.call_from_thread(self.app.notify, text, title="history", severity="warning")

    def _flush(self) -> None:
        views = self.views()
        new: dict[int, list[TokenEvent]] = {}
        while self.queue:
            run_id, pos, event = self.queue.popleft()
            if run_id != self.run_id:
                continue
            if event is None:
                self.foot(pos, "streaming…")
            else:
                new.setdefault(pos, []).append(event)
        for pos, events in new.items():
            views[pos].append(events)

    def _finished(self, run_id: int, results, div) -> None:
        if run_id != self.run_id:
            return
        self._flush()
        self._timer.pause()
        self.busy = False
        self.results, self.divergence = results, div
        done = {r.variant.index for r in results}
        for n, view in enumerate(self.views()[: len(self.variants)]):
            r = next((r for r in results if r.variant.index == n), None)
            self.foot(n, subtitle(r) if r else "not run")
            view.mark(diverge=div.position if div else None)
        self.note = self._note(div) if len(done) == len(self.variants) else "cancelled"
        self.query_one("#cmp-note", Static).update(self._odds(div))
        self.post_message(self.Changed())

    def _failed(self, run_id: int, exc: GptplayError) -> None:
        if run_id == self.run_id:
            self._timer.pause()
            self.busy = False
            self.note = f"failed: {exc}"
            self.post_message(self.Changed())

    def _note(self, div: compare.Divergence | None) -> str:
        """The status line after a run."""
        n = len(self.results)
        where = "identical outputs" if div is None else f"diverge at token {div.position + 1}"
        return f"{n} variants · {where} · Enter on a column: to the Playground"

    def _odds(self, div: compare.Divergence | None) -> Text:
        """Each variant's probability of every choice at the divergence point."""
        if div is None:
            return Text("the outputs are identical", "dim")
        text = Text(f"diverge at token {div.position + 1}: ", "bold magenta")
        for r, taken, row in zip(self.results, div.taken, div.logprobs):
            text.append(f"  {r.variant.label} ", "bold")
            text.append(f"took {visible(div.choice_text(taken))}: ")
            for c, lp in enumerate(row):
                p = "–" if lp is None else f"{100 * math.exp(lp):.1f}%"
                style = "underline" if c == taken else ""
                text.append(f"{visible(div.choice_text(c))} {p}", style)
                text.append(" ")
        return text

    class Changed(Message):
        """The pane's status line changed."""

    def cancel(self) -> None:
        if self.busy:
            self.workers.cancel_group(self, "compare")
            self.note = "cancelling…"

    def status(self) -> Text:
        return Text(f" {self.note} ", "bold")

    # ---- moving over the columns ------------------------------------------------

    @on(CompareView.Selected)
    def _selected(self, event: CompareView.Selected) -> None:
        event.stop()
        views = self.views()
        source = next((v for v in views if v.has_focus), None)
        source = source or next((v for v in views if v.cursor == event.index), None)
        if source is None:
            return
        if 0 <= event.index < len(source.tokens):
            self.query_one("#cmp-inspector", Inspector).show(
                event.index, source.tokens[event.index]
            )
        div = self.divergence.position if self.divergence else None
        for other in self.views():
            if other is not source:
                other.mark(echo=event.index, diverge=div)

    @on(CompareView.Scrolled)
    def _scrolled(self, event: CompareView.Scrolled) -> None:
        event.stop()
        for other in self.views():
            if other is not event.view and other.scroll_y != event.y:
                other.scroll_to(y=event.y, animate=False, immediate=True)

    @on(CompareView.Use)
    def _use(self, event: CompareView.Use) -> None:
        event.stop()
        n = event.view.column
        result = next((r for r in self.results if r.variant.index == n), None)
        if result is None or self.busy:
            self.app.notify("run the comparison first (Ctrl+R)", severity="warning")
            return
        self.post_message(self.Send(self.recipes[n], result))
