"""The playground app: library, composer, parameters, output and inspector; prompt, edit, chat."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import replace

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from gptplay import render
from gptplay.engine.base import Engine
from gptplay.engine.types import Alternative, Completion
from gptplay.errors import GptplayError
from gptplay.library import Library
from gptplay.settings import Layer, Resolved, SettingsStack
from gptplay.settings.schema import SESSION
from gptplay.tui.chat_tab import ChatPane
from gptplay.tui.compare_app import CompareMixin
from gptplay.tui.compare_tab import ComparePane
from gptplay.tui.composer import Composer
from gptplay.tui.composition import Composition
from gptplay.tui.editor import EditPane
from gptplay.tui.generation import FRAME_S, Generator, Request
from gptplay.tui.history_tab import HistoryMixin, HistoryPane
from gptplay.tui.inspector import Inspector
from gptplay.tui.library_panel import LibraryPanel
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.prompt_view import PromptView
from gptplay.tui.session import SessionMixin
from gptplay.tui.status import status_text
from gptplay.tui.token_view import TokenView
from gptplay.tui.transcript import Transcript

EngineFactory = Callable[[Resolved], Engine]  # the settings name the model, ctx, threads
DEFAULT_PROMPT = "translate"
GIL_SWITCH_S = 0.001  # see on_mount
READY = "ready · Ctrl+R runs"


class PlaygroundApp(CompareMixin, HistoryMixin, SessionMixin, App[None]):
    """gptplay's terminal playground."""

    TITLE = "gptplay"
    CSS_PATH = "tui.tcss"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+r,f5", "run", "Run", priority=True),
        Binding("ctrl+g", "continue", "Continue", priority=True),
        Binding("escape", "cancel", "Stop", show=False),
        Binding("ctrl+b", "back", "Back branch", priority=True),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("ctrl+t", "toggle_tokens", "Tokens", show=False, priority=True),
        Binding("ctrl+l", "focus('filter')", "Library", show=False),
        Binding("ctrl+o", "focus('output')", "Output", show=False),
        Binding("ctrl+e", "focus_query", "Query", show=False),
        Binding("f2", "tab('play')", "Playground", show=False),
        Binding("f3", "tab('prompt')", "Prompt", show=False),
        Binding("f4", "tab('edit')", "Edit", show=False),
        Binding("f6", "tab('chat')", "Chat", show=False),
        Binding("f7", "tab('history')", "History", show=False),
        Binding("f8", "tab('compare')", "Compare", show=False),
        Binding("f9", "view_code", "Code", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        engine_factory: EngineFactory,
        *,
        layers: SettingsStack | None = None,
        library: Library | None = None,
        prompt: str | None = None,
        top: int = 10,
        history: bool = True,
    ) -> None:
        super().__init__()
        self.history_on = history
        self.engine_factory = engine_factory
        self.settings_layers = layers or SettingsStack()  # all but the open prompt's and the edits
        self.library = library or Library.default()
        self.start_prompt = prompt
        self.top = top
        self.engine: Engine | None = None
        self.generator = Generator()
        self.transcript = Transcript()
        self.composition: Composition | None = None
        self.generating = False
        self.state = "loading the model…"
        self.model: str | None = None  # the name typed in the model field (None: as configured)
        self.loads = 0  # model loads started: only the latest one's result is taken
        self.loader: threading.Thread | None = None  # the latest load's thread
        self.previous: tuple[str | None, Engine] | None = None  # kept while another loads

    # ---- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="play", id="tabs"):
            with TabPane("Playground", id="play"):
                with Horizontal(id="top"):
                    yield LibraryPanel(self.library.entries(), id="library")
                    yield Composer(id="composer")
                    yield ParamsPanel(id="params")
                with Horizontal(id="bottom"):
                    with Vertical(id="output-box"):
                        yield Static(render.legend(), id="legend")
                        yield TokenView(id="output")
                    yield Inspector(id="inspector")
            with TabPane("Prompt", id="prompt"):
                yield PromptView(id="prompt-view")
            with TabPane("Edit", id="edit"):
                yield EditPane(self.library, id="editor")
            with TabPane("Chat", id="chat"):
                yield ChatPane(self.generator, self.top, self.settings_layers, id="chat-pane")
            with TabPane("History", id="history"):
                yield HistoryPane(id="history-pane")
            with TabPane("Compare", id="compare"):
                yield ComparePane(
                    self.generator,
                    self.top,
                    self.compare_loader,
                    self.history_on,
                    id="compare-pane",
                )
        yield Static("", id="status")
        yield Footer()

    def get_driver_class(self):
        """On Linux and macOS, a driver that a model load cannot silence (see tui/terminal.py)."""
        from textual.drivers.linux_driver import LinuxDriver

        driver = super().get_driver_class()
        if driver is LinuxDriver:
            from gptplay.tui.terminal import OwnTerminalDriver

            return OwnTerminalDriver
        return driver

    def on_mount(self) -> None:
        # The model's worker thread needs the GIL back after every llama.cpp call; with
        # Python's default 5 ms hand-over it waits behind each repaint (bench/tui.py: 0.86x
        # of the engine's rate at 5 ms, 0.93x at 1 ms). Restored when the app exits.
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_S)
        self.query_one("#output-box").border_title = "Output"
        self.query_one(Inspector).show(None, None)
        self.set_interval(FRAME_S, self._draw_arrived)
        self.load_model(None)
        entries = {e.name: e for e in self.library.entries()}
        name = self.start_prompt or (DEFAULT_PROMPT if DEFAULT_PROMPT in entries else None)
        if name is None and entries:
            name = next(iter(entries))
        if name is not None:
            self.open_prompt(name)
        self.show_status()

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval)

    # ---- the model --------------------------------------------------------------

    def load_model(self, model: str | None) -> None:
        """Load in a daemon thread: the screen appears at once, and quitting never waits.

        (A Textual thread worker runs in asyncio's executor, which the app's exit joins: a
        Ctrl+Q during a load left the terminal in the app's screen and exited 120.)
        """
        self.loads += 1
        self.loader = threading.Thread(
            target=self._load, args=(model, self.loads), name="gptplay-model", daemon=True
        )
        self.loader.start()

    @property
    def loading(self) -> bool:
        """Whether a model load is still running (inside llama.cpp, as a rule)."""
        return self.loader is not None and self.loader.is_alive()

    def _load(self, model: str | None, ticket: int) -> None:
        edit = Layer(SESSION, {"model": model}, "the TUI") if model else None
        try:
            result: Engine | GptplayError = self.engine_factory(
                self.settings_layers.resolve(session=edit)
            )
        except GptplayError as exc:
            result = exc
        except Exception as exc:  # a thread's traceback would scribble over the screen
            result = GptplayError(f"the model could not be loaded: {exc!r}")
        if ticket != self.loads or not self.is_running:
            return  # another model was asked for meanwhile, or the app has quit
        with contextlib.suppress(RuntimeError):  # the app quit in between
            self.call_from_thread(self._loaded, model, result)

    def _loaded(self, model: str | None, result: Engine | GptplayError) -> None:
        if isinstance(result, GptplayError):
            self._model_failed(result)
        else:
            self._model_ready(model, result)

    def _model_ready(self, model: str | None, engine: Engine) -> None:
        self.model, self.engine, self.previous = model, engine, None
        self.state = READY
        self.query_one(ParamsPanel).set_model(model, engine.model_name)
        chat = self.query_one(ChatPane)
        chat.on_reply = self.chat_recorder()
        chat.on_edit = self.chat_editor()
        chat.set_engine(engine)
        self.query_one(ComparePane).set_engine(engine)
        self.show_status()
        self.query_one(PromptView).refresh_prompt(self.engine)

    def _model_failed(self, exc: GptplayError) -> None:
        self.notify(str(exc), title="model", severity="error", timeout=10, markup=False)
        if self.previous is None:
            self.state = "no model"
            self.show_status()
            return
        model, engine = self.previous
        self._model_ready(model, engine)  # a failed load keeps the model that was loaded
        self.state = f"kept {engine.model_name} (the other model did not load)"
        self.show_status()

    @on(ParamsPanel.ModelRequested)
    def _model_requested(self, event: ParamsPanel.ModelRequested) -> None:
        if event.model == self.model and self.engine is not None:
            return  # Enter on the unchanged name: the model is already loaded
        self.action_cancel()
        if self.engine is not None:
            self.previous = (self.model, self.engine)
        self.engine = None
        self.query_one(ChatPane).set_engine(None)
        self.query_one(ComparePane).set_engine(None)
        self.state = f"loading {event.model or 'the model'}…"
        self.show_status()
        self.load_model(event.model)

    # ---- generation -------------------------------------------------------------

    def start(self, prompt: str | list[int], fresh: bool, kind: str = "continue") -> None:
        """Begin a generation (the previous one, if any, is cancelled)."""
        if self.engine is None:
            self.notify("the model is still loading", severity="warning")
            return
        if self.query_one(ChatPane).busy:  # one llama context: the chat's reply first
            self.notify("a chat reply is streaming (Escape stops it)", severity="warning")
            return
        if self.query_one(ComparePane).busy:
            self.notify("a comparison is running (Escape stops it)", severity="warning")
            return
        try:
            params = self.query_one(ParamsPanel).params()
        except GptplayError as exc:
            self.notify(str(exc), title="parameters", severity="error", markup=False)
            return
        request = Request(prompt, params, self.top, self.generator.next_run())
        # what the history records beside the run: its settings, the branch so far and
        # how many of the tokens sent are the prompt's own
        settings = self.query_one(ParamsPanel).settings()
        before = (
            (settings, (), None)
            if fresh
            else (settings, tuple(self.transcript.current.events), len(self.transcript.prompt_ids))
        )
        if fresh:
            self.query_one("#output", TokenView).clear()
            self.query_one(Inspector).show(None, None)
        self.generating = True
        self.transcript.current.completion = None
        self.state = "generating · Escape stops"
        self.show_status()
        self._generate(self.engine, request, fresh, "run" if fresh else kind, before)

    @work(thread=True, exclusive=True, group="generate")
    def _generate(
        self, engine: Engine, request: Request, fresh: bool, kind: str = "run", before=None
    ) -> None:
        worker = get_current_worker()
        sent: list[int] = []

        def started(ids: list[int]) -> None:
            sent.extend(ids)
            if fresh:
                self.call_from_thread(self.transcript.start, ids)

        try:
            completion = self.generator.generate(
                engine, request, lambda: worker.is_cancelled, started
            )
        except GptplayError as exc:
            self.call_from_thread(self._failed, request.run, exc)
            return
        settings, context, base = before or (request.params, (), None)
        try:
            self.call_from_thread(self._finished, request.run, completion)
        finally:  # also when the app is closing: the run is recorded all the same
            record = (settings, context, base)
            self.record_playground(engine, request, sent, completion, kind, record)

    def _draw_arrived(self) -> None:
        """Append what arrived since the last frame (one refresh for many tokens)."""
        new = self.generator.drain()
        if new:
            self.transcript.append(new)
            self.query_one("#output", TokenView).append(new)
            self.show_status()

    def _finished(self, run: int, completion: Completion) -> None:
        if run != self.generator.run:
            return  # a cancelled run finishing after a new one began
        self._draw_arrived()
        self.generating = False
        if completion.finish_reason == "cancelled":  # Escape: the word Ctrl-C gets everywhere
            completion = replace(completion, finish_reason="interrupted")
        self.transcript.current.completion = completion
        self.state = "interrupted" if completion.finish_reason == "interrupted" else "done"
        self.show_status()

    def _failed(self, run: int, exc: GptplayError) -> None:
        if run == self.generator.run:
            self.generating = False
            self.state = "failed"
            self.show_status()
            self.notify(str(exc), title="generation", severity="error", timeout=10, markup=False)

    def show_status(self) -> None:
        bar = self.query_one("#status", Static)
        # The bar is one row of fixed size: no layout pass (it would re-lay the whole
        # screen on every frame while tokens stream).
        if self.query_one(TabbedContent).active == "chat":
            bar.update(self.query_one(ChatPane).status(), layout=False)
            return
        if self.query_one(TabbedContent).active == "compare":
            bar.update(self.query_one(ComparePane).status(), layout=False)
            return
        tokens = len(self.transcript.current.ids)
        bar.update(
            status_text(
                self.state,
                self.transcript.current.completion,
                tokens,
                len(self.transcript.prompt_ids),
                self.engine.n_ctx if self.engine else None,
                self.transcript.depth,
            ),
            layout=False,
        )

    # ---- actions ----------------------------------------------------------------

    def action_run(self) -> None:
        if self.query_one(TabbedContent).active == "chat":
            self.query_one(ChatPane).action_retry()
            return
        if self.query_one(TabbedContent).active == "compare":
            self.compare_run()
            return
        if self.composition is None:
            self.notify("choose a prompt in the library first", severity="warning")
            return
        try:
            text = self.composition.compose().text
        except GptplayError as exc:
            self.notify(str(exc), title="prompt", severity="error", markup=False)
            return
        self.start(text, fresh=True, kind="run")

    def action_continue(self) -> None:
        if self.query_one(TabbedContent).active == "chat":
            return  # the playground's output is not on screen: do not grow it unseen
        if not self.transcript.prompt_ids:
            self.action_run()
            return
        self.start(self.transcript.prompt_ids + self.transcript.current.ids, fresh=False)

    def action_cancel(self) -> None:
        self.query_one(ChatPane).cancel()
        self.query_one(ComparePane).cancel()
        if self.generating:
            self.workers.cancel_group(self, "generate")
            self.state = "stopping…"
            self.show_status()

    @on(TokenView.Selected)
    def _selected(self, event: TokenView.Selected) -> None:
        tokens = self.query_one("#output", TokenView).tokens
        if 0 <= event.index < len(tokens):
            self.query_one(Inspector).show(event.index, tokens[event.index])

    @on(TokenView.Take)
    def _take(self, event: TokenView.Take) -> None:
        tokens = self.query_one("#output", TokenView).tokens
        top = tokens[event.index].top if 0 <= event.index < len(tokens) else ()
        if event.rank > len(top):
            self.notify(f"this token has {len(top)} alternatives", severity="warning")
            return
        self.branch(event.index, top[event.rank - 1])

    @on(Inspector.Branch)
    def _branch(self, event: Inspector.Branch) -> None:
        self.branch(event.index, event.alt)

    def branch(self, index: int, alt: Alternative) -> None:
        """Cut at the token, take the alternative, continue from there."""
        self.action_cancel()
        self.generator.next_run()  # drop any token still in flight from the old branch
        ids = self.transcript.branch(index, alt)
        view = self.query_one("#output", TokenView)
        view.set_tokens(self.transcript.current.events)
        view.select(index)
        self.start(ids, fresh=False, kind="branch")

    def action_back(self) -> None:
        self.action_cancel()
        self.generator.next_run()
        if not self.transcript.back():
            self.notify("no earlier branch", severity="warning")
            return
        self.generating = False
        self.state = "back on the previous branch"
        view = self.query_one("#output", TokenView)
        view.set_tokens(self.transcript.current.events)
        view.select(view.cursor)
        self.show_status()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_toggle_tokens(self) -> None:
        self.query_one(PromptView).toggle_tokens(self.engine)

    def action_help(self) -> None:
        from gptplay.tui.screens import HelpScreen

        self.push_screen(HelpScreen())

    @on(HistoryPane.Reopen)
    def _reopen(self, event: HistoryPane.Reopen) -> None:
        self.guard_unsaved(lambda: self.reopen_run(event.run_id))

    @on(LibraryPanel.Chosen)
    def _chosen(self, event: LibraryPanel.Chosen) -> None:
        def open_it() -> None:
            self.open_prompt(event.entry.name)
            self.settle()

        self.guard_unsaved(open_it)

    @on(Composer.Changed)
    def _changed(self) -> None:
        self.query_one(PromptView).refresh_prompt(self.engine)
        self.settle()

    def settle(self) -> None:
        """After an edit or a newly opened prompt, the last run's word (done, interrupted,
        back on the previous branch…) is stale: the state says what Ctrl+R would do now."""
        if self.engine is not None and not self.generating and self.state != READY:
            self.state = READY
            self.show_status()

    @on(TabbedContent.TabActivated)
    def _tab(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id == "prompt":
            self.query_one(PromptView).refresh_prompt(self.engine)
        elif event.pane.id == "chat":
            self.query_one("#chat-input").focus()
        elif event.pane.id == "edit":
            self.query_one(EditPane).area.focus()  # F4 then typing edits the TOML
        elif event.pane.id == "history":
            self.query_one(HistoryPane).reload()
            self.query_one("#history-filter").focus()
        self.show_status()
