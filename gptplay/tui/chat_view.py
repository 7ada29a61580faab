"""The Chat tab's pieces: turns of the transcript, a reply view, the prompt modal."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message as Event
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from gptplay.chat import Message
from gptplay.chat.slash import INTERRUPTED
from gptplay.errors import GptplayError
from gptplay.render import error_text
from gptplay.tui.token_view import TokenView

WHO = {"user": "you", "assistant": "model"}


class ReplyView(TokenView):
    """A streaming reply, shaded by probability; it grows with its text (no scrollbar)."""

    BINDINGS = [
        # the playground's output goes back a branch on Backspace; a reply has no branches
        Binding("backspace", "app.focus('chat-input')", "To the input", show=False),
    ]

    DEFAULT_CSS = """
    ReplyView { height: auto; width: 1fr; overflow-y: hidden; }
    """

    class Picked(Event):
        """The cursor moved to token ``index`` of ``view`` (for the chat's inspector)."""

        def __init__(self, view: ReplyView, index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

    def select(self, index: int | None) -> None:
        super().select(index)
        if self.cursor is not None:
            self.post_message(self.Picked(self, self.cursor))


class Turn(Vertical):
    """One message of the conversation: who said it, then what (user and model look apart)."""

    DEFAULT_CSS = """
    Turn { height: auto; }
    """

    def __init__(self, role: str, body: Static | ReplyView, notes: tuple[Text, ...] = ()) -> None:
        super().__init__(classes=f"turn {role}")
        self.role = role
        self.body = body
        self.notes = notes

    def compose(self) -> ComposeResult:
        yield Label(WHO[self.role], classes="who")
        yield self.body
        for note in self.notes:
            yield Static(note, classes="note")

    @classmethod
    def of(cls, message: Message) -> Turn:
        """A turn for a message that has no token events (loaded, or shown after a rebuild)."""
        notes = (interrupted_note(),) if message.interrupted else ()
        return cls(message.role, Static(Text(message.content), classes="text"), notes)

    def add_note(self, note: Text) -> None:
        """A line under the mounted message: a reply's figures, or that it was interrupted."""
        self.mount(Static(note, classes="note"))


def interrupted_note() -> Text:
    return Text(INTERRUPTED, "yellow")


def info(text: str, style: str = "dim") -> Static:
    """A line of the transcript that is not a message (a command's answer)."""
    return Static(Text(text, style), classes="info")


def error(exc: GptplayError) -> Static:
    return Static(error_text(exc), classes="info")


class PromptScreen(ModalScreen[None]):
    """The exact prompt text the model got (or the next one's), in a scrolling box."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, text: str, what: str) -> None:
        super().__init__()
        self.text = text
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="chat-prompt-box", classes="modal"):
            with VerticalScroll(id="chat-prompt-scroll"):
                yield Static(Text(self.text, "cyan"), id="chat-prompt-text")
            yield Label(f"{self.what} · Escape closes", classes="dim")
