"""The interactive chat loop: line editing, slash commands, streamed replies, Ctrl-C handling."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable

from rich.console import Console
from rich.text import Text

from gptplay import render, signals
from gptplay.chat import ChatSession, Reply
from gptplay.chat.commands import strip_lead
from gptplay.chat.slash import Note, Outcome, after_reply, dropped_note, handle
from gptplay.engine.base import CancelCheck
from gptplay.errors import GptplayError

PROMPT = "> "
HISTORY_LINES = 1000
LOADED_SHOWN = 4  # after /load, the last few messages, to remind where the chat was

KEYS = (
    "Ctrl-C during a reply stops it; the partial reply is kept, marked as interrupted.\n"
    "Ctrl-D, or Ctrl-C at the prompt, leaves."
)


class Repl:
    """Reads lines and draws what the chat's command layer answers; one per terminal session."""

    def __init__(self, session: ChatSession, out: Console) -> None:
        self.session = session
        self.out = out

    # ---- the loop -----------------------------------------------------------------

    def run(self) -> None:
        """Until /exit, Ctrl-D or Ctrl-C at the prompt."""
        history = self._start_history()
        s = self.session
        self.info(
            f"chat with {s.engine.model_name} · {s.format.name} · "
            f"{s.engine.n_ctx}-token context · /help for commands, Ctrl-D to leave"
        )
        if s.conversation.messages:
            self.info(f"continuing a conversation of {len(s.conversation.messages)} messages")
        try:
            while True:
                try:
                    line = input(PROMPT)
                except (EOFError, KeyboardInterrupt):
                    # leaving ends the command: a second Ctrl-C while the history is written
                    # and the model freed must not turn a clean exit into 130
                    signals.ignore_interrupts()
                    self.out.print()
                    break
                if self.handle(line) is False or signals.received() is not None:
                    break  # /exit, or SIGTERM/SIGHUP stopped the reply: leave
        finally:
            if history is not None:
                history()

    def handle(self, line: str) -> bool | None:
        """One line: a slash command or a message. False means leave."""
        try:
            outcome = handle(self.session, line, KEYS)
            if outcome is None:
                return None
            self.draw(outcome)
            if outcome.reply is not None:
                self.stream(outcome.reply)
        except GptplayError as exc:
            self.out.print(render.error_text(exc), soft_wrap=True)
            return None
        return False if outcome.leave else None

    def draw(self, outcome: Outcome) -> None:
        """A command's answer: its lines, the alternatives, the prompt, the loaded turns."""
        for note in outcome.notes:
            self.note(note)
        if outcome.alternatives is not None:
            self.out.print(render.alternatives_table(*outcome.alternatives))
        if outcome.prompt is not None:
            text, what = outcome.prompt
            self.out.print(Text(text, style="cyan"), soft_wrap=True)
            self.info(f"({what})")
        for m in outcome.shown[-LOADED_SHOWN:]:
            who = "you" if m.role == "user" else "model"
            self.out.print(Text(f"{who}: {m.content}", style="dim"), soft_wrap=True)

    def stream(self, start: Callable[[CancelCheck], Reply]) -> None:
        """Start a reply and print it; the first Ctrl-C stops it, a second one at once."""
        stop = {"asked": False}

        def on_sigint(signum, frame) -> None:
            if stop["asked"]:
                raise KeyboardInterrupt
            stop["asked"] = True

        old = signal.signal(signal.SIGINT, on_sigint)
        interrupted = False
        try:
            reply = start(lambda: stop["asked"])
            dropped = dropped_note(reply)
            if dropped is not None:
                self.note(dropped)
            try:
                for event, text in strip_lead(reply):
                    style = render.prob_style(event.logprob) if self.session.probs else ""
                    self.out.print(Text(text, style=style), end="", soft_wrap=True)
                    self.out.file.flush()
            except KeyboardInterrupt:
                interrupted = True
            reply.finish(interrupted)
        finally:
            signal.signal(signal.SIGINT, old)
        self.out.print()
        for note in after_reply(reply):
            self.note(note)

    # ---- printing -----------------------------------------------------------------

    def note(self, note: Note) -> None:
        self.out.print(Text(note.text, style="yellow" if note.notice else "dim"), soft_wrap=True)

    def info(self, text: str) -> None:
        self.out.print(Text(text, style="dim"), soft_wrap=True)

    def _start_history(self) -> Callable[[], None] | None:
        """Line editing and a history kept across sessions (readline: stdlib, no dependency)."""
        try:
            import readline
        except ImportError:  # Windows without pyreadline: plain input() still works
            return None
        from gptplay.paths import cache_dir

        path = cache_dir() / "chat_history"
        with contextlib.suppress(OSError):
            readline.read_history_file(path)
        readline.set_history_length(HISTORY_LINES)

        def save() -> None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(path)
            except OSError:
                pass  # history is a convenience: never fail the session over it

        return save
