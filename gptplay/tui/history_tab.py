"""The History tab: past runs, filtered as you type; Enter reopens one where it was made.

``HistoryMixin`` (mixed into the App) records each Playground run, continue and branch
once it has ended, in the generation's worker thread (the screen never waits for the
database), and reopens a recorded run in the Playground or resumes a chat in the Chat tab.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from gptplay.engine.types import Completion
from gptplay.errors import GptplayError

LIST_LIMIT = 200
PREVIEW = 60  # characters of each run's text in the list
CHAT_COMMANDS = ("chat", "tui-chat")


class HistoryPane(Vertical):
    """A filter line over a table of runs, newest first, and the chosen run's prompt."""

    BINDINGS = [
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    class Reopen(Message):
        """Enter on a run: reopen it (a Playground run) or resume it (a chat)."""

        def __init__(self, run_id: int) -> None:
            super().__init__()
            self.run_id = run_id

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="filter: words of a prompt, an output or a task", id="history-filter"
        )
        yield DataTable(id="history-list", cursor_type="row", zebra_stripes=True)
        yield Static("", id="history-detail")

    def on_mount(self) -> None:
        self.border_title = "History"
        table = self.query_one(DataTable)
        for name in ("id", "time", "command", "task", "tokens", "finish", "output"):
            table.add_column(name, key=name)

    def reload(self) -> None:
        """Read the runs matching the filter (a few milliseconds; no tokens are decoded)."""
        from gptplay.history import runs

        text = self.query_one("#history-filter", Input).value.strip()
        table = self.query_one(DataTable)
        table.clear()
        try:
            found = runs.listing(runs.Filters(limit=LIST_LIMIT, text=text or None))
        except GptplayError as exc:
            self.query_one("#history-detail", Static).update(Text(str(exc), "red"))
            return
        for r in found:
            table.add_row(
                str(r.id), r.when[5:16], r.listed_command, r.task or "", str(r.n_tokens),
                r.listed_finish, runs.preview(r.listed_text, PREVIEW), key=str(r.id),
            )  # fmt: skip
        detail = f"{len(found)} run(s) · Enter reopens one" if found else "no runs recorded"
        self.query_one("#history-detail", Static).update(Text(detail, "dim"))

    @on(Input.Changed, "#history-filter")
    def _filter(self) -> None:
        self.reload()

    @on(Input.Submitted, "#history-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._open_current()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._open_current()

    def _open_current(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
            self.post_message(self.Reopen(int(key)))

    def action_move(self, delta: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + delta)))


class HistoryMixin:
    """Mixed into the App: record Playground runs, reopen runs, resume chats."""

    history_on: bool = True
    last_run_id: int | None = None

    def history_warn(self, text: str) -> None:
        """One notification, from whichever thread the recording ran in."""
        if threading.get_ident() == getattr(self, "_thread_id", None):
            self.notify(text, title="history", severity="warning", timeout=8)
        else:
            self.call_from_thread(self.notify, text, title="history", severity="warning")

    def record_playground(
        self, engine, request, ids: list[int], completion: Completion, kind: str, record
    ) -> None:
        """Write one Playground run (in the worker thread, once the run has ended).

        ``record`` is (the run's resolved settings, the branch's tokens before this run for
        a continue or a branch, how many of ``ids`` are the composed prompt's own).
        """
        resolved, context, base = record
        if not self.history_on:
            return
        from gptplay import history

        comp, parent = self.composition, self.last_run_id if kind != "run" else None

        def make() -> dict:
            prompt = request.prompt if isinstance(request.prompt, str) else _text(engine, ids)
            settings = history.settings_dict(resolved, engine, top=request.top, probs=True)
            return history.build(
                "tui",
                prompt,
                engine,
                settings,
                completion,
                task=comp.spec.name if comp is not None else None,
                prompt_file=comp.spec.source if comp is not None else None,
                prompt_ids=ids,
                parent=parent,
                context=context,
                extra={"kind": kind, "prompt_tokens_base": len(ids) if base is None else base},
            )

        self.last_run_id = history.write(make, self.history_warn)

    def chat_recorder(self):
        """The Chat tab's hook: each finished reply recorded with its conversation id."""
        from gptplay import history

        return history.chat_recorder("tui-chat", on=self.history_on, warn=self.history_warn)

    def chat_editor(self):
        """The Chat tab's other hook: the chat after an /undo is what a resume brings back."""
        from gptplay import history

        return history.chat_editor(on=self.history_on, warn=self.history_warn)

    def reopen_run(self, run_id: int) -> None:
        """Enter in the History tab: a chat resumes in the Chat tab, a run in the Playground."""
        from gptplay.history import runs

        try:
            run = runs.load(run_id)
        except GptplayError as exc:
            self.notify(str(exc), title="history", severity="error")
            return
        if run.command in CHAT_COMMANDS:
            self._resume_chat(run)
        elif run.command in ("eval", "tokens") or not run.events and not run.context:
            what = f"run {run.id} ({run.command}) has no generated tokens to reopen"
            self.notify(f"{what}; `gptplay history show {run.id}` shows it", severity="warning")
        else:
            self._reopen_in_playground(run)

    def _reopen_in_playground(self, run) -> None:
        from gptplay.tui.inspector import Inspector
        from gptplay.tui.params_panel import ParamsPanel
        from gptplay.tui.token_view import TokenView

        if self.generating:
            self.action_cancel()
        self.generator.next_run()  # tokens still in flight belong to the old run
        # every pane shows the run: its library prompt, or its text as a plain prompt
        if run.task and run.task in {e.name for e in self.library.entries()}:
            self.open_prompt(run.task)
        else:
            self.open_plain(run.prompt, f"run {run.id}")
        self.query_one(ParamsPanel).fill(self._recorded_settings(run))
        ids = list(run.prompt_ids or ())
        if not ids and self.engine is not None:
            ids = self.engine.tokenize(run.prompt)
        base = int(run.extra.get("prompt_tokens_base") or len(ids))
        self.transcript.start(ids[:base])
        self.transcript.append([*run.context, *run.events])
        self.transcript.current.completion = run.completion()
        view = self.query_one("#output", TokenView)
        view.set_tokens(self.transcript.current.events)
        self.query_one(Inspector).show(None, None)
        self.last_run_id = run.id
        self.state = f"reopened run {run.id} · Ctrl+G continues, Enter on an alternative branches"
        self._switch_to("play", view)
        self.show_status()

    def _recorded_settings(self, run):
        """The run's sampling settings (its seed the one that ran) as the TUI's own layer."""
        from gptplay.settings import BY_NAME, Layer
        from gptplay.settings.schema import SAMPLING, SESSION

        values = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in run.settings.items()
            if k in BY_NAME and BY_NAME[k].group == SAMPLING
        }
        values["seed"] = run.seed
        layer = Layer(SESSION, values, f"history run {run.id}")
        try:
            return self.settings_layers.resolve(session=layer)
        except GptplayError:  # a setting recorded by an older gptplay that no longer fits
            return self.settings_layers.resolve()

    def _switch_to(self, tab: str, widget) -> None:
        """Show ``tab`` and focus ``widget`` (the filter, left focused, would pull it back)."""
        self.set_focus(None)
        self.query_one("#tabs").active = tab
        self.call_after_refresh(widget.focus)

    def _resume_chat(self, run) -> None:
        from gptplay import history
        from gptplay.tui.chat_tab import ChatPane

        pane = self.query_one(ChatPane)
        if pane.busy:
            self.notify("a chat reply is streaming (Escape stops it)", severity="warning")
            return
        try:
            conversation, conversation_id = history.recorded_conversation(run.id)
        except GptplayError as exc:
            self.notify(str(exc), title="history", severity="error")
            return
        if not pane.resume(conversation, conversation_id):
            self.notify("the model is still loading", severity="warning")
            return
        self._switch_to("chat", self.query_one("#chat-input"))


def _text(engine, ids: list[int]) -> str:
    """The text of a token prompt, without the BOS marker a tokenizer adds."""
    text = engine.detokenize(ids).decode("utf-8", "replace")
    bos = engine.chat_info().bos_token
    return text[len(bos) :] if bos and text.startswith(bos) else text
