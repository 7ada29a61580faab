"""Chat with any GGUF model: conversation, chat templates, streaming replies. No terminal code.

API (used by ``gptplay chat`` and the TUI's Chat tab):

- ``choose_format(engine, template=None, library=None) -> ChatFormat``: the model's own
  ``tokenizer.chat_template`` when it has one (``JinjaFormat``, rendered in a sandbox that
  refuses a template reaching Python internals with ``ChatTemplateError``), else the
  library's ``chat`` dialogue scaffold (``ScaffoldFormat``). ``template`` picks another
  library scaffold by name or ``.toml`` path, or a ``.jinja`` file. A format has ``name``,
  ``stop`` (stop sequences), ``params`` (a scaffold's sampling defaults), ``default_system``
  and ``render(system, messages) -> str``, the exact prompt text.
- ``ChatSession(engine, fmt, params, system=None, top=5, probs=True, conversation=None)``:
  ``session.send(text, cancel=None) -> Reply`` adds the user's message and starts the
  reply; ``session.retry(cancel=None) -> Reply`` samples the last reply again;
  ``reset()``, ``undo()``, ``load(conversation)``; ``preview()`` is the prompt the next
  message would get; ``last_prompt`` (a ``Prompt``: text, ids, dropped) is the exact text
  and tokens of the last reply's prompt; ``last_completion`` its summary (events with
  probabilities and alternatives, ``cached_tokens`` reused from the KV cache); ``params``
  (SamplingParams), ``top`` and ``probs`` may be changed between turns.
- ``Reply``: iterate it for ``TokenEvent``s; then ``reply.finish(interrupted=False) ->
  Message`` stops the stream if it still runs and adds the reply to the conversation. A
  reply stopped by Ctrl-C (``interrupted=True``) or by the ``cancel`` callback returning
  True is kept, partial, with ``Message.interrupted`` set. ``reply.prompt.dropped`` counts
  the oldest messages dropped to fit the context (the system prompt and a scaffold's
  preamble and examples never are); ``conversation.context_start`` says where the model's
  view begins.
- ``Conversation(system, messages, context_start)``: turns alternate user/assistant.
  ``save(path, meta)`` writes JSON (or markdown for ``.md``) atomically;
  ``Conversation.load(path) -> (conversation, meta)`` validates strictly and raises
  ``ChatFileError`` naming the field. Format: docs/chat.md.

Every turn re-renders the whole conversation and tokenizes it; the engine keeps the
tokens it already evaluated in the KV cache, so a turn costs only its new tokens.
"""

from __future__ import annotations

from pathlib import Path

from gptplay.chat.conversation import ChatFileError, Conversation, Message
from gptplay.chat.session import ChatSession, ChatStateError, Prompt, Reply
from gptplay.chat.templates import ChatFormat, ChatTemplateError, JinjaFormat, ScaffoldFormat
from gptplay.engine.base import Engine
from gptplay.fileio import require_regular_file
from gptplay.textin import decode

DEFAULT_SCAFFOLD = "chat"
JINJA_SUFFIXES = (".jinja", ".jinja2", ".j2")

__all__ = [
    "ChatFileError",
    "ChatFormat",
    "ChatSession",
    "ChatStateError",
    "ChatTemplateError",
    "Conversation",
    "JinjaFormat",
    "Message",
    "Prompt",
    "Reply",
    "ScaffoldFormat",
    "choose_format",
]


def choose_format(engine: Engine, template: str | None = None, library: str | None = None):
    """The chat format for this model: its own template, a named scaffold, or a .jinja file."""
    info = engine.chat_info()
    if template is None and info.template:
        return JinjaFormat(
            info.template, info.bos_token, info.eos_token, f"{engine.model_name}'s chat template"
        )
    if template is not None and template.lower().endswith(JINJA_SUFFIXES):
        path = Path(template)
        require_regular_file(path, "--template", ChatTemplateError)  # a FIFO would block
        try:
            source = decode(path.read_bytes(), f"--template {template}")
        except OSError as exc:
            raise ChatTemplateError(
                f"--template {template}: cannot be read ({exc.strerror or exc})."
            ) from None
        return JinjaFormat(source, info.bos_token, info.eos_token, str(path), f"{path.name}")
    from gptplay.library import Library, PromptError

    name = template or DEFAULT_SCAFFOLD
    spec = Library.default(library).load(name)
    if spec.kind != "chat":
        raise PromptError(
            f"--template {name}: prompt '{spec.name}' is a {spec.kind} prompt, "
            'not a dialogue scaffold (kind = "chat").',
            hint="gptplay library list shows the prompts and their kinds; the built-in "
            "scaffold is 'chat'.",
        )
    return ScaffoldFormat(spec)
