"""The Chat tab: the same chat as `gptplay chat`, on the app's engine, one reply at a time.

A reply streams in a worker thread holding the generator's lock (one llama context: never
a playground run and a chat reply at once); tokens go through a queue that a timer on the
screen's thread drains, appending them to the reply's view, as the playground's output does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from gptplay import render
from gptplay.chat import ChatSession, Reply, choose_format
from gptplay.chat.commands import format_layer, strip_lead
from gptplay.chat.slash import after_reply, dropped_note
from gptplay.engine.base import CancelCheck, Engine
from gptplay.engine.types import TokenEvent
from gptplay.errors import GptplayError, UsageError
from gptplay.settings import SettingsStack
from gptplay.tui.chat_commands import ChatCommands, note_line
from gptplay.tui.chat_view import ReplyView, Turn, error, info
from gptplay.tui.generation import FRAME_S, Generator
from gptplay.tui.inspector import Inspector
from gptplay.tui.status import constraint_parts
from gptplay.tui.token_view import TokenView


class ChatPane(ChatCommands, Vertical):
    """The transcript, an inspector for the replies' tokens, and the input line."""

    BINDINGS = [Binding("ctrl+o", "inspect", "Inspect reply", show=False)]

    def __init__(
        self, generator: Generator, top: int = 10, layers: SettingsStack | None = None, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.top = top
        self.settings_layers = layers or SettingsStack()  # default < config < the format < flags
        self.session: ChatSession | None = None
        self.engine: Engine | None = None
        self.busy = False
        self.queue: deque[TokenEvent] = deque()
        self.reply_turn: Turn | None = None
        self.on_reply: Callable[[Reply], None] | None = None  # the history's recorder
        self.on_edit: Callable[[ChatSession], None] | None = None  # and of an /undo

    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-main"):
            with Vertical(id="chat-box"):
                yield Static(render.legend(), id="chat-legend")
                yield VerticalScroll(id="chat-log")
            yield Inspector(branching=False, id="chat-inspector")
        yield Input(placeholder="a message, or /help · Enter sends", id="chat-input")

    def on_mount(self) -> None:
        self.query_one("#chat-box").border_title = "Chat"
        self.query_one("#chat-inspector", Inspector).show(None, None)
        self._timer = self.set_interval(FRAME_S, self._flush, pause=True)

    @property
    def transcript(self) -> VerticalScroll:
        return self.query_one("#chat-log", VerticalScroll)

    def write(self, widget: Widget) -> None:
        """Add a line or a turn at the end and keep the end in view."""
        self.transcript.mount(widget)
        self.transcript.scroll_end(animate=False)

    # ---- the model --------------------------------------------------------------

    def set_engine(self, engine: Engine | None) -> None:
        """Chat on a newly loaded model (the conversation and settings carry over); None: wait."""
        self.engine = engine
        if engine is None:
            return
        try:
            fmt = choose_format(engine)
        except GptplayError as exc:
            self.write(error(exc))
            return
        old = self.session
        if old is None:
            settings = self.settings_layers.resolve(format_layer(fmt))
            self.session = ChatSession(
                engine, fmt, settings.sampling(), top=self.top, settings=settings
            )
        else:
            self.session = ChatSession(
                engine,
                fmt,
                old.params,
                top=old.top,
                probs=old.probs,
                conversation=old.conversation,
                settings=old.settings,
            )
            self.session.conversation_id = old.conversation_id
        self.session.on_reply = self.on_reply
        self.session.on_edit = self.on_edit
        self.write(
            info(f"chat with {engine.model_name} · {fmt.name} · {engine.n_ctx}-token context")
        )

    def resume(self, conversation, conversation_id: str | None) -> bool:
        """Continue a recorded conversation (False while no model is loaded)."""
        if self.session is None or self.busy:
            return False
        self.session.load(conversation)
        self.session.conversation_id = conversation_id
        for turn in list(self.transcript.query(Turn)):
            turn.remove()
        self.sync_turns()
        n = len(conversation.messages)
        self.write(info(f"resumed conversation {conversation_id} · {n} messages"))
        return True

    def ready(self) -> ChatSession:
        """The session, if a reply may start now; a UsageError says why not otherwise."""
        if self.session is None or self.engine is None:
            raise UsageError("the model is still loading.")
        if self.busy:
            raise UsageError("a reply is streaming.", hint="Escape stops it.")
        if getattr(self.app, "generating", False):
            raise UsageError("the playground is generating.", hint="Escape there stops it.")
        return self.session

    def status(self) -> Text:
        """The status line on this tab: what the chat is doing and the context it uses."""
        if self.session is None or self.engine is None:
            return Text(" loading the model… ", "bold")
        if self.busy:
            view = self.reply_turn.body if self.reply_turn else None
            n = len(view.tokens) if isinstance(view, ReplyView) else 0
            text = Text(" replying · Escape stops", "bold")
            text.append(f" · {render.plural(n, 'token')}", "dim")
            return text
        text = Text(" chat · Enter sends · Ctrl+R retries", "bold")
        c = self.session.last_completion
        parts = [f"{len(self.session.conversation.messages)} messages"]
        if c is not None:
            used = c.prompt_tokens + c.tokens + c.unshown  # a stop sequence's too
            parts.append(f"context {used}/{self.engine.n_ctx}")
            parts.append(f"seed {c.seed}")
            parts += constraint_parts(c)
        text.append("".join(f" · {part}" for part in parts), "dim")
        return text

    # ---- input ------------------------------------------------------------------

    @on(Input.Submitted, "#chat-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        is_command = text.startswith("/")
        if is_command:  # a command leaves the input, done or failed; a message waits there
            event.input.value = ""
        if self.run_line(text) and not is_command:
            event.input.value = ""
        self.app.call_later(self.app.show_status)

    def action_inspect(self) -> None:
        """Ctrl+O: into the last reply, its last token selected."""
        views = list(self.query(ReplyView))
        if views and views[-1].tokens:
            views[-1].focus()
            views[-1].action_jump(-1)

    # ---- a reply ----------------------------------------------------------------

    def start(self, begin: Callable[[CancelCheck], Reply]) -> None:
        """Show an empty reply and stream into it from a worker."""
        self.busy = True
        self.queue.clear()
        self.reply_turn = Turn("assistant", ReplyView())
        self.write(self.reply_turn)
        self.query_one("#chat-inspector", Inspector).show(None, None)
        self._timer.resume()
        self._reply(begin)
        self.app.call_later(self.app.show_status)

    @work(thread=True, exclusive=True, group="chat")
    def _reply(self, begin: Callable[[CancelCheck], Reply]) -> None:
        worker = get_current_worker()
        try:
            with self.generator.lock:  # a playground run finishing releases it
                reply = begin(lambda: worker.is_cancelled)
                for event, text in strip_lead(reply):
                    self.queue.append(event if text == event.text else replace(event, text=text))
                reply.finish()
        except GptplayError as exc:
            self.app.call_from_thread(self._failed, exc)
            return
        self.app.call_from_thread(self._finished, reply)

    def _flush(self) -> None:
        """Append what arrived since the last frame to the streaming reply."""
        new = []
        while self.queue:
            new.append(self.queue.popleft())
        if new and self.reply_turn is not None:
            log = self.transcript
            follow = log.scroll_offset.y >= log.max_scroll_y - 1
            self.reply_turn.body.append(new)  # type: ignore[union-attr]
            if follow:
                log.scroll_end(animate=False)
            self.app.call_later(self.app.show_status)

    def _finished(self, reply: Reply) -> None:
        self._flush()
        self._timer.pause()
        self.busy = False
        turn, self.reply_turn = self.reply_turn, None
        assert turn is not None and reply.message is not None and reply.completion is not None
        for note in after_reply(reply):
            turn.add_note(Text(note.text, "yellow" if note.notice else "dim"))
        dropped = dropped_note(reply)
        if dropped is not None:
            self.write(note_line(dropped))
        self.transcript.scroll_end(animate=False)
        self.app.call_later(self.app.show_status)

    def _failed(self, exc: GptplayError) -> None:
        self._timer.pause()
        self.busy = False
        self.reply_turn = None
        self.sync_turns()
        self.write(error(exc))
        self.app.call_later(self.app.show_status)

    def cancel(self) -> bool:
        """Escape: stop the reply after the current token (it is kept, marked interrupted)."""
        if not self.busy:
            return False
        self.workers.cancel_group(self, "chat")
        return True

    def sync_turns(self) -> None:
        """Make the shown turns match the conversation again (after undo or a failed reply)."""
        if self.session is None:
            return
        messages = self.session.conversation.messages
        turns = list(self.transcript.query(Turn))
        for turn in turns[len(messages) :]:
            turn.remove()
        for message in messages[len(turns) :]:
            self.write(Turn.of(message))

    # ---- inspecting a reply's tokens --------------------------------------------

    @on(TokenView.Selected)
    def _selected(self, event: TokenView.Selected) -> None:
        event.stop()  # the playground's own handler would show its output's token

    @on(ReplyView.Picked)
    def _picked(self, event: ReplyView.Picked) -> None:
        tokens = event.view.tokens
        if 0 <= event.index < len(tokens):
            self.query_one("#chat-inspector", Inspector).show(event.index, tokens[event.index])

    @on(TokenView.Take)
    @on(Inspector.Branch)
    def _no_branch(self, event: Message) -> None:
        event.stop()
        self.notify("branching is in the Playground; /retry samples a new reply", timeout=4)
