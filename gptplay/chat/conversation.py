"""A conversation's state (system prompt, turns) and its files: JSON to save and load, markdown."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gptplay import jsonin
from gptplay.errors import GptplayError
from gptplay.fileio import atomic_write, require_regular_file
from gptplay.textin import checked, decode

FORMAT = "gptplay-chat"
VERSION = 1
ROLES = ("user", "assistant")
# Bounds on a conversation file (docs/chat.md): far above any context window, and small
# enough that fitting one to the context stays quick.
MAX_FILE_BYTES = 2_000_000
MAX_MESSAGES = 10_000


class ChatFileError(GptplayError):
    """A conversation file that cannot be read back."""


@dataclass(frozen=True)
class Message:
    """One turn: who said it, what, and whether Ctrl-C cut the reply short."""

    role: str
    content: str
    interrupted: bool = False

    def to_json(self) -> dict:
        record: dict = {"role": self.role, "content": self.content}
        if self.interrupted:
            record["interrupted"] = True
        return record


@dataclass
class Conversation:
    """The system prompt and the turns, alternating user and assistant, user first.

    ``context_start`` counts the oldest messages dropped from the model's context to make
    room; they stay here (and in saved files) but are no longer sent.
    """

    system: str | None = None
    messages: list[Message] = field(default_factory=list)
    context_start: int = 0

    @property
    def in_context(self) -> list[Message]:
        """The messages the model still sees."""
        return self.messages[self.context_start :]

    @property
    def awaiting_reply(self) -> bool:
        return bool(self.messages) and self.messages[-1].role == "user"

    def add_user(self, text: str) -> None:
        if self.awaiting_reply:
            raise ValueError("the last user message has no reply yet")
        self.messages.append(Message("user", checked(text, "the message")))

    def add_reply(self, text: str, interrupted: bool = False) -> Message:
        if not self.awaiting_reply:
            raise ValueError("a reply needs a user message before it")
        message = Message("assistant", text, interrupted)
        self.messages.append(message)
        return message

    def reset(self) -> None:
        """Forget every turn; the system prompt stays."""
        self.messages.clear()
        self.context_start = 0

    def undo(self) -> list[Message]:
        """Remove the last exchange (the last user message and its reply, if any)."""
        removed: list[Message] = []
        if self.messages and self.messages[-1].role == "assistant":
            removed.insert(0, self.messages.pop())
        if self.messages and self.messages[-1].role == "user":
            removed.insert(0, self.messages.pop())
        self.context_start = min(self.context_start, len(self.messages))
        return removed

    def pop_reply(self) -> Message | None:
        """Remove the last reply so it can be sampled again (for retry)."""
        if self.messages and self.messages[-1].role == "assistant":
            return self.messages.pop()
        return None

    # ---- files --------------------------------------------------------------------

    def to_json(self, meta: Mapping[str, object] | None = None) -> dict:
        """The saved form (documented in docs/chat.md)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            **dict(meta or {}),
            "system": self.system,
            "messages": [m.to_json() for m in self.messages],
        }

    def to_markdown(self, title: str = "Conversation") -> str:
        """A readable export: one section per turn (not loadable)."""
        lines = [f"# {title}", ""]
        if self.system:
            lines += ["**System:**", "", self.system, ""]
        for m in self.messages:
            who = "User" if m.role == "user" else "Assistant"
            mark = " *(interrupted)*" if m.interrupted else ""
            lines += [f"**{who}:**{mark}", "", m.content, ""]
        return "\n".join(lines)

    def save(self, path: Path, meta: Mapping[str, object] | None = None) -> str:
        """Write JSON, or markdown for a .md path; returns which."""
        if path.suffix.lower() in (".md", ".markdown"):
            atomic_write(path, self.to_markdown())
            return "markdown"
        text = json.dumps(self.to_json(meta), ensure_ascii=False, indent=2) + "\n"
        atomic_write(path, text)
        return "json"

    @classmethod
    def load(cls, path: Path) -> tuple[Conversation, dict]:
        """Read a saved conversation; returns it and the file's other fields (model, params)."""
        require_regular_file(path, "a conversation file", ChatFileError)
        if path.suffix.lower() in (".md", ".markdown"):
            raise ChatFileError(
                f"{path}: a markdown export cannot be loaded back.",
                hint="save the conversation as .json to load it later.",
            )
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise ChatFileError(f"{path}: no such file.") from None
        except OSError as exc:
            raise ChatFileError(f"{path}: cannot be read ({exc.strerror}).") from None
        if len(raw) > MAX_FILE_BYTES:
            raise ChatFileError(
                f"{path}: larger than {MAX_FILE_BYTES:,} bytes, the most a conversation file "
                "may hold.",
                hint="far more than any context holds; keep the turns you need in a new file.",
            )
        try:
            text = decode(raw, str(path))
        except GptplayError as exc:
            raise ChatFileError(exc.message, hint=exc.hint) from None
        try:
            data = jsonin.loads(text)
        except jsonin.JsonProblem as exc:
            at = f":{exc.line}:{exc.col}" if exc.line else ""
            raise ChatFileError(
                f"{path}{at}: not valid JSON ({exc.reason}).",
                hint="a conversation file is what /save FILE.json writes.",
            ) from None
        return cls.from_json(data, str(path))

    @classmethod
    def from_json(cls, data: object, source: str = "conversation") -> tuple[Conversation, dict]:
        """Validate the saved form strictly: every problem names the field."""

        def bad(where: str, what: str) -> ChatFileError:
            return ChatFileError(
                f"{source}: {where} {what}.",
                hint="a conversation file is what /save FILE.json writes (see docs/chat.md).",
            )

        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise bad("the top level", f'is not a gptplay conversation ("format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise bad("'version'", f"is {data.get('version')!r}; this gptplay reads {VERSION}")
        system = data.get("system")
        if system is not None and not isinstance(system, str):
            raise bad("'system'", "must be a string or null")
        raw = data.get("messages")
        if not isinstance(raw, list):
            raise bad("'messages'", "must be a list")
        if len(raw) > MAX_MESSAGES:
            raise bad(
                "'messages'", f"has {len(raw):,}; a conversation holds at most {MAX_MESSAGES:,}"
            )
        messages: list[Message] = []
        for i, item in enumerate(raw):
            where = f"messages[{i}]"
            if not isinstance(item, dict):
                raise bad(where, "must be an object with 'role' and 'content'")
            extra = set(item) - {"role", "content", "interrupted"}
            if extra:
                raise bad(where, f"has an unknown field '{sorted(extra)[0]}'")
            role, content = item.get("role"), item.get("content")
            expected = ROLES[i % 2]
            if role != expected:
                raise bad(
                    f"{where}.role", f"is {role!r}; turns alternate, so it must be {expected!r}"
                )
            if not isinstance(content, str):
                raise bad(f"{where}.content", "must be a string")
            interrupted = item.get("interrupted", False)
            if not isinstance(interrupted, bool):
                raise bad(f"{where}.interrupted", "must be true or false")
            messages.append(Message(role, content, interrupted))
        meta = {
            k: v for k, v in data.items() if k not in ("format", "version", "system", "messages")
        }
        return cls(system=system, messages=messages), meta
