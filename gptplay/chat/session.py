"""A chat session: a conversation, a chat format and an engine, streaming one reply at a time."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace

from gptplay.chat.conversation import Conversation, Message
from gptplay.chat.templates import ChatFormat
from gptplay.engine.base import CancelCheck, Engine, Stream
from gptplay.engine.types import Completion, SamplingParams, TokenEvent
from gptplay.errors import GptplayError
from gptplay.settings import Resolved

# When the context is full, drop this share of it beyond what is needed, so the next few
# turns fit without dropping again (each drop changes the prefix: a full re-evaluation).
TRIM_HEADROOM = 8  # 1/8 of the context
SEED_RANGE = 2**32


def retry_seed(seed: int, attempt: int) -> int:
    """The seed of the ``attempt``-th retry of a reply: new each time, the same every run."""
    return (seed + attempt) % SEED_RANGE


# Before tokenizing, turns beyond this many characters per token of room are skipped: no
# tokenizer averages more, and a loaded 2 MB conversation is then never tokenized whole.
CHARS_PER_TOKEN_BOUND = 32


def _skip_by_length(conv: Conversation, budget: int) -> None:
    """Move the context start past the oldest exchanges while the rest is over budget chars."""
    total = sum(len(m.content) for m in conv.in_context)
    last = len(conv.messages) - 1
    while total > budget and conv.context_start + 2 <= last:
        total -= len(conv.messages[conv.context_start].content)
        total -= len(conv.messages[conv.context_start + 1].content)
        conv.context_start += 2


class ChatStateError(GptplayError):
    """A chat action that does not fit the conversation's state (nothing to retry)."""


@dataclass(frozen=True)
class Prompt:
    """The exact text and tokens sent for one reply, and how many old messages were dropped."""

    text: str
    ids: tuple[int, ...]
    dropped: int


class Reply:
    """One streaming reply: iterate for TokenEvents, then ``finish()`` records it.

    ``finish()`` reads whatever is left of the stream first, so ``send(text).finish()``
    runs a whole reply without printing it.

    ``finish(interrupted=True)`` (after Ctrl-C) or a cancel callback that returned True
    keeps the partial reply in the conversation, marked as interrupted.
    """

    def __init__(self, session: ChatSession, stream: Stream, prompt: Prompt) -> None:
        self.session = session
        self.prompt = prompt
        self._stream = stream
        self._events: Generator[TokenEvent, None, None] = iter(stream)  # type: ignore[assignment]
        self.message: Message | None = None
        self.completion: Completion | None = None

    def __iter__(self) -> Generator[TokenEvent, None, None]:
        return self._events

    def finish(self, interrupted: bool = False) -> Message:
        """Stop the stream if it still runs and add the reply (partial or whole) to the chat."""
        if self.message is not None:
            return self.message
        if interrupted:
            if inspect.getgeneratorstate(self._events) == inspect.GEN_CREATED:
                next(self._events, None)  # a generator never started would skip its cleanup
            self._events.close()  # a generator left mid-way: its cleanup computes the summary
        else:
            for _ in self._events:  # read to the end (or to the cancel callback's stop)
                pass
        completion = self._stream.completion
        assert completion is not None
        interrupted = interrupted or completion.finish_reason in ("cancelled", "interrupted")
        if interrupted:  # one word for a reply the user stopped, whichever way they did
            completion = replace(completion, finish_reason="interrupted")
        self.completion = completion
        self.message = self.session.conversation.add_reply(completion.text.strip(), interrupted)
        self.session.last_completion = completion
        if self.session.on_reply is not None:
            self.session.on_reply(self)  # e.g. the history recorder; never fails the turn
        return self.message


class ChatSession:
    """Everything a chat screen needs apart from the screen (see the package docstring)."""

    def __init__(
        self,
        engine: Engine,
        fmt: ChatFormat,
        params: SamplingParams,
        *,
        system: str | None = None,
        top: int = 5,
        probs: bool = True,
        conversation: Conversation | None = None,
        settings: Resolved | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings  # what ``params`` were resolved from (for a run's record)
        self.format = fmt
        # the stops a reply uses, all of them: none given means the format's; /set may
        # then change them, or clear them (stop=none)
        self.params = params if params.stop else replace(params, stop=tuple(fmt.stop))
        self.top = top
        self.probs = probs
        self.conversation = conversation or Conversation()
        if system is not None:
            self.conversation.system = system
        elif self.conversation.system is None:
            self.conversation.system = fmt.default_system
        self.last_prompt: Prompt | None = None
        self.last_completion: Completion | None = None
        self.on_reply: Callable[[Reply], None] | None = None  # called once a reply is finished
        # called after an edit no reply records (/undo), e.g. the history's state of the chat
        self.on_edit: Callable[[ChatSession], None] | None = None
        self.conversation_id: str | None = None  # set by the history on the first recorded turn
        self.retries = 0  # retries of the last reply: a seeded retry uses retry_seed(seed, n)
        info = engine.chat_info()
        self._bos = info.bos_token

    # ---- prompt -------------------------------------------------------------------

    def render(self, messages: list[Message]) -> str:
        return self.format.render(self.conversation.system, messages)

    def tokenize(self, text: str) -> list[int]:
        """Tokens of a rendered prompt: a template that writes BOS itself gets no second one."""
        has_bos = bool(self._bos) and text.startswith(self._bos)
        return self.engine.tokenize(text, add_bos=not has_bos)

    def build_prompt(self) -> Prompt:
        """Render the conversation awaiting a reply, dropping the oldest turns if it overflows.

        The system prompt and a scaffold's preamble and examples are never dropped; the
        last user message is never dropped (the engine reports a message too long alone).
        """
        conv = self.conversation
        reserve = min(self.params.max_tokens, self.engine.n_ctx // 2)
        limit = self.engine.n_ctx - reserve
        first = conv.context_start
        _skip_by_length(conv, limit * CHARS_PER_TOKEN_BOUND)
        text = self.render(conv.in_context)
        ids = self.tokenize(text)
        if len(ids) > limit:
            limit -= self.engine.n_ctx // TRIM_HEADROOM
            text, ids = self._fit(limit)
        return Prompt(text, tuple(ids), conv.context_start - first)

    def _fit(self, limit: int) -> tuple[str, list[int]]:
        """Drop the fewest oldest exchanges that make the prompt fit: a binary search, so a
        long loaded conversation costs a few renders, not one per message."""
        conv = self.conversation
        starts = range(conv.context_start + 2, len(conv.messages), 2)  # the last one stays
        found: tuple[str, list[int]] | None = None
        lo, hi = 0, len(starts) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            text = self.render(conv.messages[starts[mid] :])
            ids = self.tokenize(text)
            if len(ids) <= limit:
                found, conv.context_start, hi = (text, ids), starts[mid], mid - 1
            else:
                lo = mid + 1
        if found is None:  # even the last message alone is too long: the engine says so
            if starts:
                conv.context_start = starts[-1]
            text = self.render(conv.in_context)
            found = (text, self.tokenize(text))
        return found

    def preview(self, placeholder: str = "…") -> str:
        """The prompt the next message would get (``placeholder`` standing for the message)."""
        messages = list(self.conversation.in_context)
        if not self.conversation.awaiting_reply:
            messages.append(Message("user", placeholder))
        return self.render(messages)

    # ---- turns --------------------------------------------------------------------

    def send(self, text: str, cancel: CancelCheck | None = None) -> Reply:
        """Add the user's message and start streaming the reply."""
        if self.conversation.awaiting_reply:
            raise ChatStateError(
                "the last message has no reply yet.",
                hint="/retry answers it, /undo removes it.",
            )
        self.conversation.add_user(text)
        self.retries = 0
        try:
            return self._start(cancel)
        except BaseException:
            self.conversation.undo()  # the message never reached the model: take it back
            raise

    def retry(self, cancel: CancelCheck | None = None) -> Reply:
        """Sample the last reply again (its old text is dropped).

        With a fixed seed the n-th retry uses ``retry_seed(seed, n)``: a new sample each
        time, and the same samples in the same order when the session is replayed.
        """
        if not self.conversation.messages:
            raise ChatStateError("there is no reply to retry yet.")
        old = self.conversation.pop_reply()
        seed = self.next_retry_seed()
        try:
            reply = self._start(cancel, seed)
        except BaseException:
            if old is not None:
                self.conversation.messages.append(old)
            raise
        self.retries += 1
        return reply

    def next_retry_seed(self) -> int | None:
        """The seed the next /retry will use (None: a fresh random one, as for any reply)."""
        if self.params.seed is None:
            return None
        return retry_seed(self.params.seed, self.retries + 1)

    def _start(self, cancel: CancelCheck | None, seed: int | None = None) -> Reply:
        prompt = self.build_prompt()
        params = self.params
        if seed is not None:
            params = replace(params, seed=seed)
        stream = self.engine.stream(
            list(prompt.ids),
            params,
            top=self.top if self.probs else 0,
            probs=self.probs,
            cancel=cancel,
        )
        self.last_prompt = prompt
        return Reply(self, stream, prompt)

    def reset(self) -> None:
        self.conversation.reset()
        self.conversation_id = None
        self.last_completion = self.last_prompt = None
        self.retries = 0

    def undo(self) -> list[Message]:
        removed = self.conversation.undo()
        if removed:
            self.last_completion = self.last_prompt = None
            self.retries = 0
            if self.on_edit is not None:
                self.on_edit(self)  # a resumed chat comes back without what was removed
        return removed

    def load(self, conversation: Conversation) -> None:
        """Replace the conversation (from ``Conversation.load``); a missing system keeps ours."""
        if conversation.system is None:
            conversation.system = self.conversation.system
        self.conversation = conversation
        self.conversation_id = None
        self.last_completion = None
        self.last_prompt = None
        self.retries = 0

    def resolved(self) -> Resolved:
        """Every setting of the next reply, `/set` changes included, with their origins."""
        from gptplay.settings import resolve

        return (self.settings or resolve(())).with_params(self.params)

    def meta(self) -> dict:
        """What a saved file records besides the turns: model, format and sampling."""
        from gptplay.settings import SAMPLING_NAMES

        params = {n: getattr(self.params, n) for n in SAMPLING_NAMES if n != "stop"}
        return {"model": self.engine.model_name, "template": self.format.name, "params": params}
