"""The Chat tab's side of the chat's command layer: it draws each Outcome in the transcript."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from gptplay import render
from gptplay.chat import ChatSession
from gptplay.chat.slash import Note, Outcome, handle
from gptplay.errors import GptplayError, UsageError
from gptplay.tui.chat_view import PromptScreen, Turn, error, info

KEYS = (
    "Enter sends · Escape stops a reply (it is kept, marked interrupted) · Ctrl+R retries · "
    "Ctrl+O moves into the last reply: ←/→ show each token's alternatives · Ctrl+Q quits"
)
WHILE_STREAMING = ("help", "show-prompt", "alts")  # commands that never touch the conversation


class ChatCommands:
    """Mixed into ChatPane: runs a typed line through gptplay.chat.slash and draws the result."""

    session: ChatSession | None

    def run_line(self, text: str) -> bool:
        """Run a message or command; False when it failed (the error is in the transcript)."""
        try:
            if self.busy and not text.lstrip().lower().startswith(
                tuple(f"/{name}" for name in WHILE_STREAMING)
            ):
                raise UsageError("a reply is streaming.", hint="Escape stops it.")
            outcome = handle(self.session, text, KEYS)
            if outcome is not None:
                if outcome.reply is not None:
                    self.ready()  # a reply needs the model free: say why not before sending
                self.draw(outcome)
        except GptplayError as exc:
            self.write(error(exc))
            return False
        return True

    def draw(self, outcome: Outcome) -> None:
        if outcome.leave:
            self.app.action_quit()
            return
        if outcome.redraw:
            self.transcript.remove_children()
            if self.session is not None:
                for message in self.session.conversation.messages:
                    self.write(Turn.of(message))
        for note in outcome.notes:
            self.write(note_line(note))
        if outcome.alternatives is not None:
            self.write(info_table(render.alternatives_table(*outcome.alternatives)))
        if outcome.prompt is not None:
            self.app.push_screen(PromptScreen(*outcome.prompt))
        if outcome.reply is not None:
            if outcome.retry:
                self.drop_last_reply()
            if outcome.user is not None:
                self.write(Turn("user", Static(Text(outcome.user), classes="text")))
            self.start(outcome.reply)

    def drop_last_reply(self) -> None:
        """/retry: the reply about to be replaced leaves the transcript."""
        session = self.session
        if session is not None and session.conversation.messages[-1].role == "assistant":
            turns = list(self.transcript.query(Turn))
            if turns:
                turns[-1].remove()

    def action_retry(self) -> None:
        """Ctrl+R on the Chat tab: /retry."""
        self.run_line("/retry")
        self.app.call_later(self.app.show_status)


def note_line(note: Note) -> Static:
    return info(note.text, "yellow" if note.notice else "dim")


def info_table(table) -> Static:
    return Static(table, classes="info")
