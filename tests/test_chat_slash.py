"""The chat's one command layer (gptplay.chat.slash): what each line does, for both front ends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gptplay.chat import ChatSession, ChatStateError, ScaffoldFormat
from gptplay.chat.slash import figures, handle
from gptplay.engine.fake import FakeEngine
from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError
from gptplay.library import load_prompt

PARAMS = SamplingParams(temperature=0.8, max_tokens=32, seed=7)


def session(engine, params: SamplingParams = PARAMS) -> ChatSession:
    return ChatSession(engine, ScaffoldFormat(load_prompt("chat")), params)


def run(s: ChatSession, line: str):
    """A line through the layer, its reply (if any) streamed to the end."""
    outcome = handle(s, line)
    if outcome is not None and outcome.reply is not None:
        outcome.reply(None).finish()
    return outcome


class SeedRecorder(FakeEngine):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.seeds: list[int | None] = []

    def stream(self, prompt, params, **kw):
        self.seeds.append(params.seed)
        return super().stream(prompt, params, **kw)


def test_a_seeded_retry_draws_a_new_seed_derived_from_the_sessions():
    engine = SeedRecorder(n_ctx=4096)
    s = session(engine)
    run(s, "Suggest a name for a pet dragon.")
    first = run(s, "/retry")
    second = run(s, "/retry")
    assert engine.seeds == [7, 8, 9]  # reproducible: the same seeds in a replayed session
    assert first.notes[0].text == "retry 1: seed 8 (the session's seed 7 + 1)"
    assert second.notes[0].text.startswith("retry 2: seed 9")
    assert figures(s.last_completion).endswith("· seed 9")  # the figures under it say so
    run(s, "And a cat?")  # a new message starts from the session's seed again
    run(s, "/retry")
    assert engine.seeds[-2:] == [7, 8]


def test_an_unseeded_retry_says_nothing_of_seeds_and_the_engine_picks_one():
    engine = SeedRecorder(n_ctx=4096)
    s = session(engine, replace(PARAMS, seed=None))
    run(s, "Hi")
    assert run(s, "/retry").notes == () and engine.seeds == [None, None]


@pytest.mark.model
def test_retry_with_a_fixed_seed_gives_new_replies_on_the_real_model(engine):
    s = session(engine, SamplingParams(temperature=1.0, max_tokens=24, seed=7))
    run(s, "Suggest a name for a pet dragon.")
    replies = [s.conversation.messages[-1].content]
    for _ in range(2):
        run(s, "/retry")
        replies.append(s.conversation.messages[-1].content)
    assert len(set(replies)) == 3, replies
    s2 = session(engine, SamplingParams(temperature=1.0, max_tokens=24, seed=7))
    run(s2, "Suggest a name for a pet dragon.")
    run(s2, "/retry")
    assert s2.conversation.messages[-1].content == replies[1]  # a seeded session replays


def test_messages_and_commands_come_back_as_outcomes():
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue([" Hello", "!"])
    s = session(engine)
    out = handle(s, "Hi")
    assert out.user == "Hi" and out.reply is not None and not s.conversation.messages
    out.reply(None).finish()
    alts = handle(s, "/alts 2")
    events, k = alts.alternatives
    assert k == 2 and [e.text for e in events] == [" Hello", "!"]
    assert handle(s, "/undo").redraw and handle(s, "/exit").leave
    assert handle(None, "/help").notes[0].text.startswith("/help")
    with pytest.raises(UsageError, match="the model is still loading"):
        handle(None, "/undo")
    with pytest.raises(UsageError, match="did you mean /alts"):
        handle(s, "/alt")
    with pytest.raises(ChatStateError, match="no reply to retry"):
        handle(s, "/retry")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing/dir/x.json", "the directory missing/dir does not exist"),
        ("x.txt", "a conversation is saved as .json"),
        ("x", "a conversation is saved as .json"),
    ],
)
def test_save_refuses_a_missing_directory_and_another_extension(
    tmp_path, monkeypatch, name, message
):
    monkeypatch.chdir(tmp_path)
    engine = FakeEngine(n_ctx=4096)
    s = session(engine)
    run(s, "Hi")
    with pytest.raises(UsageError, match=message):
        handle(s, f"/save {name}")
    assert list(tmp_path.iterdir()) == []  # nothing created, not even the directory
    assert "saved 2 messages" in handle(s, "/save chat.md").notes[0].text
    assert (tmp_path / "chat.md").is_file()


class StopRecorder(FakeEngine):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.stops: list[tuple[str, ...]] = []

    def stream(self, prompt, params, **kw):
        self.stops.append(tuple(params.stop))
        return super().stream(prompt, params, **kw)


def test_set_stop_none_clears_every_stop_and_several_can_be_set():
    # issue 24 item 21: stop=none set the literal stop "none"; no way to clear or add stops
    engine = StopRecorder(n_ctx=4096)
    s = session(engine)
    template = tuple(s.format.stop)
    assert template and s.params.stop == template  # the template's, stated
    run(s, "/set stop=none")
    assert s.params.stop == () and "stop=none" in run(s, "/set").notes[0].text
    run(s, "Hi")
    assert engine.stops[-1] == ()  # none: the reply is not cut by the template's either
    run(s, "/set stop=\\n stop=END stop=\\n")
    assert s.params.stop == ("\n", "END")
    assert "stop='\\n' stop='END'" in run(s, "/set").notes[0].text
    run(s, "More")
    assert engine.stops[-1] == ("\n", "END")
    run(s, "/set stop=default")
    assert s.params.stop == template
    run(s, "/set seed=none")
    assert s.params.seed is None and s.params.stop == template  # other keys leave stops be
    for bad, message in (
        ("/set stop=none stop=x", "/set stop=none goes alone"),
        ("/set stop=", "/set stop= is empty"),
    ):
        with pytest.raises(UsageError, match=message):
            run(s, bad)
    assert s.params.stop == template  # a refused /set changes nothing
