"""The chat core: turns, retry/undo, cancel, context trimming, files; the real model's KV reuse."""

from __future__ import annotations

import json

import pytest

from gptplay.chat import (
    ChatFileError,
    ChatSession,
    ChatStateError,
    Conversation,
    JinjaFormat,
    Message,
    ScaffoldFormat,
)
from gptplay.engine.fake import FakeEngine
from gptplay.engine.kvcache import CHUNK
from gptplay.engine.types import SamplingParams
from gptplay.errors import ContextOverflowError
from gptplay.library import load_prompt
from tests.test_chat_templates import CHATML, GEMMA

PARAMS = SamplingParams(temperature=0, max_tokens=32, seed=1)


def scaffold_session(engine, **kw) -> ChatSession:
    return ChatSession(engine, ScaffoldFormat(load_prompt("chat")), PARAMS, **kw)


def say(session: ChatSession, text: str, **kw) -> Message:
    reply = session.send(text)
    for _ in reply:
        pass
    return reply.finish(**kw)


def test_two_turns_retry_and_undo_on_a_scaffold():
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue([" Hi", " there."])
    engine.enqueue([" Four", "."])
    engine.enqueue([" 4", "."])
    s = scaffold_session(engine)
    assert say(s, "Hello") == Message("assistant", "Hi there.")
    assert say(s, "2+2?").content == "Four."
    assert s.last_prompt.text.endswith("User: Hello\nAssistant: Hi there.\nUser: 2+2?\nAssistant:")
    reply = s.retry()
    assert reply.finish().content == "4."  # finish() reads the stream to its end first
    assert [m.content for m in s.conversation.messages] == ["Hello", "Hi there.", "2+2?", "4."]
    assert len(s.undo()) == 2
    assert [m.content for m in s.conversation.messages] == ["Hello", "Hi there."]
    s.reset()
    assert s.conversation.messages == [] and s.conversation.system == s.format.default_system


def test_the_cancel_callback_keeps_a_partial_reply_marked_interrupted():
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue(["one", " two", " three", " four"])
    s = scaffold_session(engine)
    seen: list[str] = []
    reply = s.send("count", cancel=lambda: len(seen) >= 2)
    for event in reply:
        seen.append(event.text)
    message = reply.finish()
    assert message == Message("assistant", "one two", interrupted=True)
    assert reply.completion.finish_reason == "interrupted"  # the word Ctrl-C gets too


def test_ctrl_c_mid_reply_keeps_what_streamed():
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue(["a", "b", "c", "d"])
    s = scaffold_session(engine)
    reply = s.send("go")
    it = iter(reply)
    next(it), next(it)
    message = reply.finish(interrupted=True)  # as the REPL does after KeyboardInterrupt
    assert message.content == "ab" and message.interrupted
    assert reply.completion.finish_reason == "interrupted"


def test_a_message_that_cannot_be_sent_is_taken_back():
    s = scaffold_session(FakeEngine(n_ctx=1000))
    with pytest.raises(ContextOverflowError):
        s.send("x" * 1200)
    assert s.conversation.messages == []
    with pytest.raises(ChatStateError):
        s.retry()


def test_old_turns_are_dropped_to_fit_but_never_the_preamble_or_examples():
    engine = FakeEngine(n_ctx=1000)  # fake tokens are bytes: the scaffold alone is ~500
    s = scaffold_session(engine)
    dropped = 0
    for n in range(8):
        engine.enqueue([f" Reply number {n} " + "x" * 40])
        reply = s.send(f"message {n} " + "y" * 40)
        reply.finish()
        dropped += reply.prompt.dropped
        assert len(reply.prompt.ids) <= engine.n_ctx - PARAMS.max_tokens
        assert reply.prompt.text.startswith("The following is a conversation with Assistant")
        assert "Assistant: How about Smokey, Pebble or Ash?" in reply.prompt.text
        assert reply.prompt.text.endswith(f"User: message {n} {'y' * 40}\nAssistant:")
    assert dropped > 0 and s.conversation.context_start == dropped
    assert len(s.conversation.messages) == 16  # dropped from the context, not from the chat
    assert "message 0" not in s.last_prompt.text


def test_a_jinja_template_writing_bos_gets_no_second_one():
    engine = FakeEngine(n_ctx=4096, chat_template=GEMMA)
    s = ChatSession(engine, JinjaFormat(GEMMA, bos_token="<bos>"), PARAMS)
    say(s, "Hi")  # fake tokens are bytes: the template's "<bos>" text is its BOS here
    assert engine.detokenize(engine.prompts[-1]).startswith(b"<bos><start_of_turn>user\nHi")
    assert 0 not in engine.prompts[-1]
    s2 = ChatSession(engine, JinjaFormat(CHATML), PARAMS)  # ChatML writes none: one is added
    say(s2, "Hi")
    assert engine.prompts[-1][0] == 0 and 0 not in engine.prompts[-1][1:]


def test_save_and_load_round_trip_and_markdown(tmp_path):
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue([" Hello", "!"])
    engine.enqueue([" partial"])
    s = scaffold_session(engine, system="Be kind.")
    say(s, "Hi")
    say(s, "More", interrupted=True)
    path = tmp_path / "chat.json"
    assert s.conversation.save(path, s.meta()) == "json"
    data = json.loads(path.read_text())
    assert data["format"] == "gptplay-chat" and data["version"] == 1
    assert data["messages"][-1] == {"role": "assistant", "content": "partial", "interrupted": True}
    loaded, meta = Conversation.load(path)
    assert loaded.messages == s.conversation.messages and loaded.system == "Be kind."
    assert meta["model"] == "fake" and meta["params"]["temperature"] == 0
    md = tmp_path / "chat.md"
    assert s.conversation.save(md) == "markdown"
    text = md.read_text()
    assert "**System:**\n\nBe kind." in text and "**Assistant:** *(interrupted)*" in text
    with pytest.raises(ChatFileError, match="markdown export cannot be loaded"):
        Conversation.load(md)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"format": "gptplay-chat",\n "version": 1,\n "messages": [}',
            r"chat.json:3:\d+: not valid",
        ),
        ('{"format": "other"}', "is not a gptplay conversation"),
        ('{"format": "gptplay-chat", "version": 9, "messages": []}', "'version' is 9"),
        (
            '{"format": "gptplay-chat", "version": 1, "messages": '
            '[{"role": "assistant", "content": "x"}]}',
            r"messages\[0\].role is 'assistant'; turns alternate",
        ),
        (
            '{"format": "gptplay-chat", "version": 1, "messages": '
            '[{"role": "user", "content": 3}]}',
            r"messages\[0\].content must be a string",
        ),
        (
            '{"format": "gptplay-chat", "version": 1, "messages": '
            '[{"role": "user", "content": "x", "mood": "ok"}]}',
            "unknown field 'mood'",
        ),
    ],
)
def test_a_bad_conversation_file_names_the_problem(tmp_path, content, message):
    path = tmp_path / "chat.json"
    path.write_text(content)
    with pytest.raises(ChatFileError, match=message):
        Conversation.load(path)


# ---- the real embedded model ------------------------------------------------------------


@pytest.mark.model
def test_each_turn_reuses_the_previous_turns_tokens(engine):
    """Turn N+1's prompt tokens start with turn N's prompt and reply: only new tokens run."""
    s = scaffold_session(engine, top=3)
    engine.reset()
    first = s.send("What is the capital of France?")
    events = list(first)
    first.finish()
    assert events and all(e.logprob is not None and e.top for e in events if e.id >= 0)
    assert first.completion.cached_tokens == 0
    second = s.send("And of Spain?")
    second.finish()
    before, now = first.prompt.ids, second.prompt.ids
    assert now[: len(before)] == before
    assert now.count(now[0]) == 1  # one BOS
    # the previous prompt came from the cache up to its last canonical chunk boundary
    # (engine/kvcache.py): only that chunk's rest, the reply and the new turn run
    assert second.completion.cached_tokens == len(before) - len(before) % CHUNK
    assert second.completion.prompt_tokens - second.completion.cached_tokens < CHUNK + 40
    assert second.prompt.text.endswith("User: And of Spain?\nAssistant:")


@pytest.mark.model
def test_a_jinja_template_on_the_real_model_has_one_bos(engine):
    """Gemma's own template writes <bos>; the engine must not add another."""
    info = engine.chat_info()
    assert info.template is None and info.bos_token == "<bos>"  # the embedded model is base
    s = ChatSession(engine, JinjaFormat(GEMMA, info.bos_token, info.eos_token), PARAMS)
    reply = s.send("Hello")
    reply.finish()
    ids = list(reply.prompt.ids)
    bos = engine.tokenize("", add_bos=True)[0]
    assert ids[0] == bos and bos not in ids[1:]
    assert engine.detokenize(ids[1:]).decode().startswith("<start_of_turn>user\nHello")


@pytest.mark.model
def test_a_context_llama_cpp_pads_is_limited_to_the_token_buffer(model_path):
    """--ctx 600 (llama.cpp pads it to 768): a 700-token prompt is refused, not a crash."""
    from gptplay.engine.llama import LlamaEngine

    small = LlamaEngine(model_path, n_ctx=600)
    assert small.n_ctx == 600
    with pytest.raises(ContextOverflowError, match="is 7\\d\\d tokens but the context holds 600"):
        small.stream("word " * 700, PARAMS).run()
