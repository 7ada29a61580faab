"""The interactive chat loop: line editing, slash commands, streamed replies, Ctrl-C handling."""

from __future__ import annotations

import contextlib
import difflib
import signal
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from gptplay import render
from gptplay.chat import ChatSession, Conversation, Reply
from gptplay.cli.options import unescape
from gptplay.engine.base import CancelCheck
from gptplay.engine.types import SamplingParams
from gptplay.errors import GptplayError, UsageError

PROMPT = "> "
HISTORY_LINES = 1000
SETTABLE = ("top",) + tuple(f.name for f in fields(SamplingParams))

HELP = """\
/help               this list
/reset              forget the conversation (the system prompt stays)
/system [TEXT]      show or set the system prompt
/set [KEY=VALUE]    show or change settings: temperature, top_k, top_p, min_p, max_tokens,
                    seed (a number or none), repeat_penalty, presence_penalty,
                    frequency_penalty, top (alternatives computed per token),
                    stop (one stop sequence, \\n for a newline; default: the template's)
/probs on|off       shade replies by probability (and compute alternatives) or not
/alts [K]           each token of the last reply with its top K alternatives
/retry              a new sample of the last reply
/undo               remove the last exchange
/save FILE          save the conversation: FILE.json (loadable) or FILE.md (markdown)
/load FILE          continue a conversation saved as JSON
/show-prompt        the exact text the model received for the last reply
/exit               leave (also Ctrl-D, or Ctrl-C at the prompt)
Ctrl-C during a reply stops it; the partial reply is kept, marked as interrupted."""


def strip_lead(events):
    """Yield each event's text with the reply's leading whitespace dropped (the role's space)."""
    started = False
    for event in events:
        text = event.text if started else event.text.lstrip()
        started = started or bool(text)
        yield event, text


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
                if self.handle(line) is False:
                    break
        finally:
            if history is not None:
                history()

    def handle(self, line: str) -> bool | None:
        """One line: a slash command or a message. False means leave."""
        text = line.strip()
        if not text:
            return None
        try:
            if text.startswith("/"):
                name, _, arg = text[1:].partition(" ")
                command = self.commands.get(name.lower())
                if command is None:
                    close = difflib.get_close_matches(name, list(self.commands), n=1)
                    hint = f"did you mean /{close[0]}? " if close else ""
                    raise UsageError(f"unknown command /{name}.", hint=f"{hint}/help lists them.")
                return command(arg.strip())
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
        s = self.session
        if arg:
            params, top = s.params, s.top
            for pair in arg.split():
                key, sep, value = pair.partition("=")
                key = key.strip().replace("-", "_")
                if not sep or key not in SETTABLE:
                    raise UsageError(
                        f"/set {pair}: expected KEY=VALUE with KEY one of {', '.join(SETTABLE)}."
                    )
                if key == "top":
                    top = _number(key, value, int)
                    if not 0 <= top <= 100:
                        raise UsageError(f"/set top={value}: must be in [0, 100].")
                else:
                    params = _with(params, key, value.strip())
            s.params, s.top = params, top
        shown = [f"{k}={getattr(s.params, k)}" for k in SETTABLE if k not in ("top", "stop")]
        stop = ",".join(repr(x) for x in s.params.stop) or f"template's {s.format.stop!r}"
        self.info(" ".join([*shown, f"top={s.top}", f"stop={stop}"]))

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
        k = _number("K", arg, int) if arg else min(5, max(len(e.top) for e in completion.events))
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
        s = self.session
        if s.last_prompt is not None and not s.conversation.awaiting_reply:
            text, what = s.last_prompt.text, f"{len(s.last_prompt.ids)} tokens, as last sent"
        else:
            text, what = s.preview(), "the next message goes where … stands"
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


def _with(params: SamplingParams, key: str, value: str) -> SamplingParams:
    """``params`` with one setting changed and checked (a UsageError naming it otherwise)."""
    if key == "stop":
        new: object = () if value.lower() in ("", "default") else (unescape(value),)
    elif key == "seed" and value.lower() in ("none", "random", ""):
        new = None
    else:
        new = _number(key, value, int if key in ("top_k", "max_tokens", "seed") else float)
    changed = replace(params, **{key: new})
    try:
        changed.validate()
    except UsageError as exc:
        raise UsageError(f"/set {key}={value}: {exc.message.split(': ', 1)[-1]}") from None
    return changed


def _number(key: str, value: str, kind: type) -> int | float:
    try:
        return kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise UsageError(f"/set {key}={value}: expected {what}.") from None
