"""The interactive chat loop: line editing, slash commands, streamed replies, Ctrl-C handling."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from gptplay import render, signals
from gptplay.chat import ChatSession, Conversation, Reply
from gptplay.chat.commands import (
    COMMANDS,
    apply_set,
    help_text,
    number,
    parse,
    prompt_shown,
    settings_line,
    strip_lead,
)
from gptplay.engine.base import CancelCheck
from gptplay.errors import GptplayError, UsageError

PROMPT = "> "
HISTORY_LINES = 1000

HELP = (
    help_text(name for name, _, _ in COMMANDS)
    + "\nCtrl-C during a reply stops it; the partial reply is kept, marked as interrupted."
)


class Repl:
    """Reads lines, runs slash commands, streams replies; one instance per terminal session."""

    def __init__(self, session: ChatSession, out: Console) -> None:
        self.session = session
        self.out = out
        self.commands: dict[str, Callable[[str], bool | None]] = {
            "help": lambda _: self.info(HELP),
            "reset": self.cmd_reset,
            "system": self.cmd_system,
            "set": self.cmd_set,
            "probs": self.cmd_probs,
            "alts": self.cmd_alts,
            "retry": lambda _: self.stream(self.session.retry),
            "undo": self.cmd_undo,
            "save": self.cmd_save,
            "load": self.cmd_load,
            "show-prompt": self.cmd_show_prompt,
            "exit": lambda _: False,
            "quit": lambda _: False,
        }

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
                    self.out.print()
                    break
                if self.handle(line) is False or signals.received() is not None:
                    break  # /exit, or SIGTERM/SIGHUP stopped the reply: leave
        finally:
            if history is not None:
                history()

    def handle(self, line: str) -> bool | None:
        """One line: a slash command or a message. False means leave."""
        text = line.strip()
        if not text:
            return None
        try:
            command = parse(text, self.commands)
            if command is not None:
                name, arg = command
                return self.commands[name](arg)
            self.stream(lambda cancel: self.session.send(text, cancel))
        except GptplayError as exc:
            self.error(exc)
        return None

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
            if reply.prompt.dropped:
                n, ctx = reply.prompt.dropped, self.session.engine.n_ctx
                self.notice(f"dropped the {n} oldest messages to fit the {ctx}-token context")
            try:
                for event, text in strip_lead(reply):
                    style = render.prob_style(event.logprob) if self.session.probs else ""
                    self.out.print(Text(text, style=style), end="", soft_wrap=True)
                    self.out.file.flush()
            except KeyboardInterrupt:
                interrupted = True
            message = reply.finish(interrupted)
        finally:
            signal.signal(signal.SIGINT, old)
        self.out.print()
        if message.interrupted:
            self.notice("[interrupted: the partial reply is kept; /retry for a new one]")
        self.stats(reply)

    # ---- commands -----------------------------------------------------------------

    def cmd_reset(self, _: str) -> None:
        self.session.reset()
        self.info("conversation cleared")

    def cmd_system(self, arg: str) -> None:
        if not arg:
            self.info(f"system prompt: {self.session.conversation.system or '(none)'}")
            return
        self.session.conversation.system = arg
        self.info("system prompt set")

    def cmd_set(self, arg: str) -> None:
        """Change settings all at once: one bad pair changes nothing."""
        if arg:
            apply_set(self.session, arg)
        self.info(settings_line(self.session))

    def cmd_probs(self, arg: str) -> None:
        if arg.lower() not in ("on", "off"):
            raise UsageError(f"/probs {arg}: say /probs on or /probs off.")
        self.session.probs = arg.lower() == "on"
        self.info(f"probabilities {arg.lower()}")

    def cmd_alts(self, arg: str) -> None:
        completion = self.session.last_completion
        if completion is None or not completion.events:
            raise UsageError("/alts: there is no reply to show yet.")
        if not any(e.top for e in completion.events):
            raise UsageError(
                "/alts: the last reply was made with probabilities off.",
                hint="/probs on, then /retry.",
            )
        k = number("K", arg, int) if arg else min(5, max(len(e.top) for e in completion.events))
        self.out.print(render.alternatives_table(completion.events, max(1, min(k, 20))))

    def cmd_undo(self, _: str) -> None:
        removed = self.session.undo()
        self.info(f"removed {len(removed)} message(s)" if removed else "nothing to undo")

    def cmd_save(self, arg: str) -> None:
        if not arg:
            raise UsageError("/save needs a file name: /save chat.json or /save chat.md.")
        path = Path(arg).expanduser()
        kind = self.session.conversation.save(path, self.session.meta())
        self.info(f"saved {len(self.session.conversation.messages)} messages to {path} ({kind})")

    def cmd_load(self, arg: str) -> None:
        if not arg:
            raise UsageError("/load needs a file name: /load chat.json.")
        conversation, _ = Conversation.load(Path(arg).expanduser())
        self.session.load(conversation)
        self.info(f"loaded {len(conversation.messages)} messages from {arg}")
        for m in conversation.messages[-4:]:
            who = "you" if m.role == "user" else "model"
            self.out.print(Text(f"{who}: {m.content}", style="dim"), soft_wrap=True)

    def cmd_show_prompt(self, _: str) -> None:
        text, what = prompt_shown(self.session)
        self.out.print(Text(text, style="cyan"), soft_wrap=True)
        self.info(f"({what})")

    # ---- printing -----------------------------------------------------------------

    def stats(self, reply: Reply) -> None:
        c = reply.completion
        ttft = "–" if c.time_to_first_token_s is None else f"{c.time_to_first_token_s:.2f} s"
        self.info(
            f"{c.tokens} tokens · {c.tokens_per_s:.1f} tok/s · first token {ttft} · "
            f"prompt {c.prompt_tokens} tokens ({c.cached_tokens} cached) · {c.finish_reason}"
        )

    def info(self, text: str) -> None:
        self.out.print(Text(text, style="dim"), soft_wrap=True)

    def notice(self, text: str) -> None:
        self.out.print(Text(text, style="yellow"), soft_wrap=True)

    def error(self, exc: GptplayError) -> None:
        self.out.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
        if exc.hint:
            self.out.print(f"[dim]hint: {escape(exc.hint)}[/]", soft_wrap=True)

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
