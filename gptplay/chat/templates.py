"""Chat formats: a GGUF's Jinja chat template (sandboxed) or a library dialogue scaffold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from gptplay.chat import sandbox
from gptplay.chat.conversation import Message
from gptplay.chat.sandbox import make_environment
from gptplay.errors import GptplayError
from gptplay.library import PromptSpec, assemble


class ChatTemplateError(GptplayError):
    """A chat template that cannot be rendered, or that tried to leave its sandbox."""


class ChatFormat(Protocol):
    """Turns a system prompt and the turns so far into the exact text the model receives."""

    name: str
    stop: tuple[str, ...]
    params: Mapping[str, int | float]
    default_system: str | None

    def render(self, system: str | None, messages: Sequence[Message]) -> str: ...


def _raise_exception(message: str) -> None:
    """What real templates call to reject a conversation (e.g. roles out of order)."""
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@dataclass(frozen=True)
class JinjaFormat:
    """A model's own chat template (``tokenizer.chat_template``), rendered in a sandbox."""

    source: str
    bos_token: str = ""
    eos_token: str = ""
    origin: str = "the model's chat template"
    name: str = "gguf chat template"
    stop: tuple[str, ...] = ()
    params: Mapping[str, int | float] = field(default_factory=lambda: MappingProxyType({}))
    default_system: str | None = None

    def __post_init__(self) -> None:
        from jinja2.exceptions import TemplateSyntaxError

        env = make_environment()
        try:
            template = env.from_string(self.source)
        except TemplateSyntaxError as exc:
            raise self._refused(
                f"line {exc.lineno}: not a valid Jinja template ({exc.message})",
                "pass --template chat to use the library's dialogue scaffold instead.",
            ) from None
        except Exception as exc:  # RecursionError on deep nesting, MemoryError, ...
            raise self._refused(f"it cannot be compiled ({_reason(exc)})") from None
        object.__setattr__(self, "_template", template)
        object.__setattr__(self, "_env", env)

    def _refused(self, reason: str, hint: str | None = None) -> ChatTemplateError:
        """The one error every template failure becomes."""
        return ChatTemplateError(
            f"refused to run {self.origin}: {reason}.",
            hint=hint or "use --template chat (the library's dialogue scaffold) or a .jinja file.",
        )

    def render(self, system: str | None, messages: Sequence[Message]) -> str:
        """The prompt with the generation prompt appended (the assistant's turn opened)."""
        from jinja2.exceptions import SecurityError, TemplateError

        turns = [{"role": m.role, "content": m.content} for m in messages]
        if system:
            turns.insert(0, {"role": "system", "content": system})
        chars = sum(len(t["content"]) for t in turns)
        try:
            return sandbox.render(
                self._template,  # type: ignore[attr-defined]
                self._env,  # type: ignore[attr-defined]
                chars,
                messages=turns,
                add_generation_prompt=True,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                tools=None,
                documents=None,
                raise_exception=_raise_exception,
                strftime_now=_strftime_now,
            )
        except SecurityError as exc:
            raise self._refused(
                f"it tried to reach Python internals ({exc})",
                "templates run sandboxed; use --template chat or a trusted .jinja file.",
            ) from None
        except sandbox.TemplateRefused as exc:
            raise self._refused(str(exc)) from None
        except TemplateError as exc:
            raise self._refused(
                f"it rejected the conversation: {exc.message or exc}",
                "some templates accept no system prompt, or need turns to alternate.",
            ) from None
        except Exception as exc:  # ZeroDivisionError, OverflowError, MemoryError, RecursionError
            raise self._refused(f"it failed while rendering ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """An exception as a short phrase: its type, and its message when it has one."""
    text = str(exc)
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _literal(text: str) -> str:
    """Text safe to use as a library template (braces doubled)."""
    return text.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True)
class ScaffoldFormat:
    """A base-model dialogue scaffold from the prompt library, as GPT-3 chat worked.

    The preamble (the prompt's instruction, or the system prompt in its place) and the
    example turns come first and are never dropped; the conversation follows as more
    demonstrations; the new message is the query, which ends with the assistant's prefix.
    """

    spec: PromptSpec
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        self.spec.chat_roles(self.variables)  # a PromptError now if it is not a scaffold

    @property
    def name(self) -> str:
        return f"{self.spec.name} (library dialogue scaffold)"

    @property
    def roles(self):
        return self.spec.chat_roles(self.variables)

    @property
    def stop(self) -> tuple[str, ...]:
        return self.spec.stop or (f"\n{self.roles.user_prefix}",)

    @property
    def params(self) -> Mapping[str, int | float]:
        return self.spec.params

    @property
    def default_system(self) -> str | None:
        return self.spec.render_instruction(self.variables) or None

    def render(self, system: str | None, messages: Sequence[Message]) -> str:
        """Preamble, example turns, the conversation, then the last user message as the query."""
        roles = self.roles
        if not messages or messages[-1].role != "user":
            raise ValueError("the last message must be the user's")
        spec = self.spec if system is None else replace(self.spec, instruction=_literal(system))
        history = [
            {roles.user_field: u.content, roles.assistant_field: a.content}
            for u, a in zip(messages[:-1:2], messages[1:-1:2])
        ]
        demos = [*spec.examples, *history]
        query = {roles.user_field: messages[-1].content}
        return assemble(spec, demos, query, self.variables).text
