"""The Chat tab's slash commands: the same as `gptplay chat`'s, answered in the transcript."""

from __future__ import annotations

from pathlib import Path

from gptplay.chat import ChatSession, ChatStateError, Conversation
from gptplay.chat.commands import apply_set, help_text, prompt_shown, settings_line
from gptplay.errors import GptplayError, UsageError
from gptplay.tui.chat_view import PromptScreen, Turn, error, info

COMMANDS = (
    "help", "reset", "system", "set", "probs", "retry", "undo", "save", "load", "show-prompt"
)  # fmt: skip
KEYS = (
    "Enter sends · Escape stops a reply (it is kept, marked interrupted) · Ctrl+R retries · "
    "Ctrl+O moves into the last reply: ←/→ show each token's alternatives"
)


class ChatCommands:
    """Mixed into ChatPane: one ``cmd_NAME(arg)`` per command; errors are GptplayErrors."""

    session: ChatSession | None

    def cmd_help(self, _: str) -> None:
        self.write(info(help_text(COMMANDS) + "\n" + KEYS))

    def action_retry(self) -> None:
        """Ctrl+R on the Chat tab."""
        try:
            self.cmd_retry()
        except GptplayError as exc:
            self.write(error(exc))

    def cmd_reset(self, _: str) -> None:
        self.ready_session().reset()
        self.transcript.remove_children()
        self.write(info("conversation cleared"))

    def cmd_system(self, arg: str) -> None:
        session = self.ready_session()
        if not arg:
            self.write(info(f"system prompt: {session.conversation.system or '(none)'}"))
            return
        session.conversation.system = arg
        self.write(info("system prompt set"))

    def cmd_set(self, arg: str) -> None:
        session = self.ready_session()
        if arg:
            apply_set(session, arg)
        self.write(info(settings_line(session)))

    def cmd_probs(self, arg: str) -> None:
        if arg.lower() not in ("on", "off"):
            raise UsageError(f"/probs {arg}: say /probs on or /probs off.")
        self.ready_session().probs = arg.lower() == "on"
        self.write(info(f"probabilities {arg.lower()}"))

    def cmd_retry(self, _: str = "") -> None:
        session = self.ready()
        messages = session.conversation.messages
        if not messages:
            raise ChatStateError("there is no reply to retry yet.")
        if messages[-1].role == "assistant":
            list(self.transcript.query(Turn))[-1].remove()
        self.start(session.retry)

    def cmd_undo(self, _: str) -> None:
        removed = self.ready_session().undo()
        self.sync_turns()
        self.write(info(f"removed {len(removed)} message(s)" if removed else "nothing to undo"))

    def cmd_save(self, arg: str) -> None:
        if not arg:
            raise UsageError("/save needs a file name: /save chat.json or /save chat.md.")
        session = self.ready_session()
        path = Path(arg).expanduser()
        kind = session.conversation.save(path, session.meta())
        self.write(info(f"saved {len(session.conversation.messages)} messages to {path} ({kind})"))

    def cmd_load(self, arg: str) -> None:
        if not arg:
            raise UsageError("/load needs a file name: /load chat.json.")
        session = self.ready_session()
        conversation, _ = Conversation.load(Path(arg).expanduser())
        session.load(conversation)
        self.transcript.remove_children()
        for message in conversation.messages:
            self.write(Turn.of(message))
        self.write(info(f"loaded {len(conversation.messages)} messages from {arg}"))

    def cmd_show_prompt(self, _: str) -> None:
        self.app.push_screen(PromptScreen(*prompt_shown(self.ready_session())))

    def ready_session(self) -> ChatSession:
        """The session for a command that needs no model run."""
        if self.session is None:
            raise UsageError("the model is still loading.")
        return self.session
