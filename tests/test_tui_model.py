"""End to end on the real embedded model: run, inspect and branch through the screen."""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_support import SIZE, idle, ready, sync, wait_until

from gptplay.engine.types import SamplingParams
from gptplay.tui import create_app
from gptplay.tui.chat_tab import ChatPane
from gptplay.tui.chat_view import ReplyView
from gptplay.tui.token_view import TokenView

pytestmark = pytest.mark.model


@sync
async def test_run_inspect_and_branch_on_the_real_model(engine):
    app = create_app(lambda model: engine, prompt="translate")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"cheese", "ctrl+r")  # the query field has the focus
        await wait_until(pilot, idle(app), timeout=120)
        composed = app.composition.compose().text
        assert composed.endswith("cheese =>")
        params = SamplingParams(temperature=0, max_tokens=32, stop=("\n",))
        expected = engine.stream(composed, params, top=10).run()
        view = app.query_one(TokenView)
        shown = "".join(e.text for e in view.tokens)
        assert shown == expected.text and shown.strip()
        status = str(app.query_one("#status").render())
        assert f"seed {app.transcript.current.completion.seed}" in status
        assert f"{expected.prompt_tokens + len(view.tokens)}/{engine.n_ctx}" in status

        view.focus()
        await pilot.press("home")
        first = view.tokens[0]
        assert len(first.top) == 10 and first.top[0].id == first.id  # greedy took the top one
        alt = first.top[1]
        await pilot.press("2")  # branch: take the runner-up, continue from there
        await wait_until(pilot, lambda: app.transcript.depth == 1 and idle(app)(), timeout=120)
        assert view.tokens[0].id == alt.id
        ids = engine.tokenize(composed) + [alt.id]
        continued = engine.stream(ids, params, top=10).run()
        assert "".join(e.text for e in view.tokens[1:]) == continued.text
        await pilot.press("ctrl+b")
        assert "".join(e.text for e in view.tokens) == expected.text


@sync
async def test_chat_tab_on_the_real_model_shows_the_sessions_reply(engine):
    engine.reset()  # the reply and its rerun below both evaluate the prompt from scratch
    app = create_app(lambda model: engine, prompt="translate")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        pane = app.query_one(ChatPane)
        await wait_until(pilot, lambda: pane.session is not None)
        assert pane.session.engine is engine  # the app's loaded model, not a second one
        field = app.query_one("#chat-input", Input)
        for line in ("/set temperature=0 max_tokens=24", "What is the capital of Italy?"):
            field.value = line
            await pilot.press("enter")
        messages = pane.session.conversation.messages
        await wait_until(pilot, lambda: len(messages) == 2 and not pane.busy, timeout=120)
        reply = pane.session.conversation.messages[-1]
        assert reply.role == "assistant" and reply.content and not reply.interrupted
        view = pane.query(ReplyView).last()
        shown = "".join(e.text for e in view.tokens)
        assert shown.strip() == reply.content
        completion = pane.session.last_completion
        assert [e.id for e in view.tokens] == [e.id for e in completion.events]
        assert all(e.logprob is not None and len(e.top) == 10 for e in view.tokens)
        # greedy: the same prompt run again with the session's settings (the scaffold's
        # [params] and the /set) gives the same reply
        prompt = list(pane.session.last_prompt.ids)
        params = pane.session.params
        assert params.temperature == 0 and params.max_tokens == 24
        # a prefix reused from the KV cache is evaluated in other batch shapes, which round
        # differently (docs/eval.md); from scratch, the same prompt gives the same tokens
        engine.reset()
        assert engine.stream(prompt, params, top=0).run().text.strip() == reply.content
