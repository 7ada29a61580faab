"""A chat format the server renders itself (llama-server's ``/apply-template``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from gptplay.chat.conversation import Message


@dataclass(frozen=True)
class ServerFormat:
    """The model's own template as the server applies it: the exact text it would send."""

    apply: Callable[[list[dict]], str]
    name: str = "server chat template"
    stop: tuple[str, ...] = ()
    params: Mapping[str, int | float] = field(default_factory=lambda: MappingProxyType({}))
    default_system: str | None = None

    def render(self, system: str | None, messages: Sequence[Message]) -> str:
        """The prompt with the assistant's turn opened, rendered by the server."""
        turns = [{"role": m.role, "content": m.content} for m in messages]
        if system:
            turns.insert(0, {"role": "system", "content": system})
        return self.apply(turns)
