"""Pilot tests of the Chat tab over a scripted engine: the interactions the issue lists."""

from __future__ import annotations

from textual.widgets import Input, Static
from tui_support import SIZE, fake_app, ready, sync, wait_until

from gptplay.chat import Conversation
from gptplay.engine.fake import FakeEngine
from gptplay.tui.chat_tab import ChatPane
from gptplay.tui.chat_view import PromptScreen, ReplyView, Turn
from gptplay.tui.inspector import Inspector


def chat_engine(delay_s: float = 0.0) -> FakeEngine:
    """A scripted engine whose context holds the chat scaffold (its tokens are bytes)."""
    return FakeEngine(n_ctx=8192, delay_s=delay_s)


async def open_chat(pilot) -> ChatPane:
    """The Chat tab, the model loaded, the input focused."""
    await ready(pilot)
    await pilot.press("f6")
    pane = pilot.app.query_one(ChatPane)
    await wait_until(pilot, lambda: pane.session is not None)
    assert pilot.app.focused is pilot.app.query_one("#chat-input")
    return pane


async def say(pilot, text: str) -> None:
    """Type a line into the chat input and press Enter; wait until a reply is done."""
    pane = pilot.app.query_one(ChatPane)
    pilot.app.query_one("#chat-input", Input).value = text
    await pilot.press("enter")
    await wait_until(pilot, lambda: not pane.busy)


def turns(pane: ChatPane) -> list[tuple[str, str]]:
    """What the transcript shows: (role, text) per turn."""
    out = []
    for turn in pane.query(Turn):
        if isinstance(turn.body, ReplyView):
            out.append((turn.role, "".join(e.text for e in turn.body.tokens)))
        else:
            out.append((turn.role, str(turn.body.render())))
    return out


def shown(pane: ChatPane) -> str:
    """Every line of the transcript, as text."""
    return "\n".join(str(w.render()) for w in pane.transcript.query(Static))


@sync
async def test_two_messages_stream_into_the_transcript():
    engine = chat_engine()
    engine.enqueue([" Bonjour", "!", " Hello", "."])
    engine.enqueue([" Paris", " is", " nice"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        await say(pilot, "Hi there")
        await say(pilot, "Tell me about Paris")
        messages = pane.session.conversation.messages
        assert [(m.role, m.content) for m in messages] == [
            ("user", "Hi there"),
            ("assistant", "Bonjour! Hello."),
            ("user", "Tell me about Paris"),
            ("assistant", "Paris is nice"),
        ]
        assert turns(pane) == [(m.role, m.content) for m in messages]
        second = engine.detokenize(engine.prompts[-1]).decode()
        assert "User: Hi there\nAssistant: Bonjour! Hello.\nUser: Tell me about Paris" in second
        assert "3 tokens" in shown(pane) and "(0 cached)" not in shown(pane).split("\n")[-1]
        reply = pane.query(ReplyView).last()
        assert all(e.logprob is not None for e in reply.tokens)  # shaded by probability


@sync
async def test_escape_mid_reply_keeps_the_partial_reply_marked_interrupted():
    engine = chat_engine(0.05)
    engine.enqueue([f" w{n}" for n in range(200)])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        app.query_one("#chat-input", Input).value = "Count"
        await pilot.press("enter")
        view = pane.query(ReplyView).last()
        await wait_until(pilot, lambda: len(view.tokens) >= 3)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not pane.busy)
        message = pane.session.conversation.messages[-1]
        assert message.interrupted and message.content.startswith("w0 w1 w2")
        assert len(message.content.split()) < 200
        assert "".join(e.text for e in view.tokens) == message.content
        assert "interrupted: the partial reply is kept" in shown(pane)
        assert "· interrupted · seed" in shown(pane) and "cancelled" not in shown(pane)


@sync
async def test_undo_and_reset():
    app, engine = fake_app(chat_engine())
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        await say(pilot, "one")
        await say(pilot, "two")
        await say(pilot, "/undo")
        assert [m.content for m in pane.session.conversation.messages] == ["one", "fake reply"]
        assert turns(pane) == [("user", "one"), ("assistant", "fake reply")]
        assert "removed 2 message(s)" in shown(pane)
        system = pane.session.conversation.system
        await say(pilot, "/reset")
        await wait_until(pilot, lambda: not pane.query(Turn))
        assert pane.session.conversation.messages == []
        assert pane.session.conversation.system == system
        assert "conversation cleared" in shown(pane)
        await say(pilot, "/undo")
        assert "nothing to undo" in shown(pane)


@sync
async def test_show_prompt_is_the_exact_text_sent():
    app, engine = fake_app(chat_engine())
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        await say(pilot, "/show-prompt")  # before any reply: the next prompt, … for the message
        screen = app.screen
        assert isinstance(screen, PromptScreen) and screen.text.endswith("User: …\nAssistant:")
        await pilot.press("escape")
        await say(pilot, "What is 2+2?")
        await say(pilot, "/show-prompt")
        screen = app.screen
        assert isinstance(screen, PromptScreen)
        sent = engine.detokenize(engine.prompts[-1]).decode()
        assert screen.text == sent == pane.session.last_prompt.text
        assert f"{len(engine.prompts[-1])} tokens, as last sent" in screen.what


@sync
async def test_save_then_load_restores_the_conversation(tmp_path):
    path = tmp_path / "talk.json"
    app, engine = fake_app(chat_engine())
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        await say(pilot, "/system You are terse.")
        await say(pilot, "Hello")
        await say(pilot, f"/save {path}")
        saved, meta = Conversation.load(path)
        assert [m.content for m in saved.messages] == ["Hello", "fake reply"]
        assert saved.system == "You are terse." and meta["model"] == "fake"
        await say(pilot, "/reset")
        await wait_until(pilot, lambda: not pane.query(Turn))
        await say(pilot, f"/load {path}")
        await wait_until(pilot, lambda: len(pane.query(Turn)) == 2)
        assert pane.session.conversation.messages == saved.messages
        assert turns(pane) == [("user", "Hello"), ("assistant", "fake reply")]
        await say(pilot, "Again")  # the loaded conversation goes on
        assert "User: Hello\nAssistant: fake reply\nUser: Again" in pane.session.last_prompt.text


@sync
async def test_bad_commands_and_settings_are_one_readable_line():
    app, engine = fake_app(chat_engine())
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        await say(pilot, "/sett temperature=0")
        assert "unknown command /sett." in shown(pane) and "did you mean /set?" in shown(pane)
        await say(pilot, "/set temperature=0 top_k=x")
        assert "/set top_k=x: expected a whole number." in shown(pane)
        assert pane.session.params.temperature != 0  # one bad pair changes nothing
        await say(pilot, "/set temperature=0 max_tokens=1")
        assert pane.session.params.temperature == 0 and pane.session.params.max_tokens == 1
        await say(pilot, "/retry")
        assert "there is no reply to retry yet." in shown(pane)
        await say(pilot, "/load nowhere.json")
        assert "error: " in shown(pane).split("\n")[-2]
        await say(pilot, "/help")
        assert "/show-prompt" in shown(pane) and "/alts [K]" in shown(pane)


@sync
async def test_retry_replaces_the_reply_and_the_inspector_shows_its_tokens():
    engine = chat_engine()
    engine.enqueue([" first"])
    engine.enqueue([" second", " one"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        await say(pilot, "Hi")
        await pilot.press("ctrl+r")  # on the Chat tab: /retry
        await wait_until(pilot, lambda: not pane.busy and len(engine.prompts) == 2)
        assert turns(pane) == [("user", "Hi"), ("assistant", "second one")]
        assert engine.prompts[0] == engine.prompts[1]  # the same prompt, sampled again
        await pilot.press("ctrl+o")
        inspector = app.query_one("#chat-inspector", Inspector)
        await wait_until(pilot, lambda: inspector.index == 1)
        assert inspector.event.text == " one" and len(inspector.event.top) == 3
        await pilot.press("2")  # branching is the playground's: nothing changes here
        assert turns(pane)[-1] == ("assistant", "second one")


@sync
async def test_chat_and_playground_never_generate_at_once():
    engine = chat_engine(0.05)
    engine.enqueue([f" w{n}" for n in range(100)])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        app.query_one("#chat-input", Input).value = "Go on"
        await pilot.press("enter")
        await wait_until(pilot, lambda: pane.busy and len(pane.query(ReplyView).last().tokens) > 1)
        await pilot.press("f2")
        app.start("a prompt", fresh=True)
        assert not app.generating and len(engine.prompts) == 1  # refused: the chat streams
        await pilot.press("escape")
        await wait_until(pilot, lambda: not pane.busy)
        assert pane.session.conversation.messages[-1].interrupted


@sync
async def test_alts_works_and_a_failed_command_leaves_the_input():
    engine = chat_engine()
    engine.enqueue([" Hi", " there"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_chat(pilot)
        box = app.query_one("#chat-input", Input)
        await say(pilot, "/alts 3")
        assert "/alts: there is no reply to show yet." in shown(pane)
        assert box.value == ""  # the next command is not appended to the failed one
        await say(pilot, "/undo")
        assert "nothing to undo" in shown(pane) and "/alts 3/undo" not in shown(pane)
        await say(pilot, "Hello")
        await say(pilot, "/alts 2")
        table = pane.transcript.query(Static).last().content
        assert "Top alternatives" in str(table.title) and len(table.columns) == 5  # 2 alts
        assert "unknown command" not in shown(pane)
