"""Snapshots of the main screens at a fixed size, over a scripted engine and a scripted clock."""

from __future__ import annotations

import itertools

from textual.widgets import Input, TextArea
from tui_support import REPLY, SIZE, fake_app, idle, ready, wait_until

from gptplay.engine.fake import FakeEngine
from gptplay.tui.chat_tab import ChatPane
from gptplay.tui.editor import EditPane
from gptplay.tui.token_view import TokenView

SMALL = (80, 24)  # the smallest terminal the layout is made for


def scripted_app(n_ctx: int = 512):
    """Each clock reading is 0.1 s after the last, so tok/s and timings never vary."""
    ticks = itertools.count()
    engine = FakeEngine(n_ctx, clock=lambda: next(ticks) * 0.1, model_name="fake-model")
    engine.enqueue(REPLY)
    app, _ = fake_app(engine)
    return app


async def steady(pilot) -> None:
    """No blinking cursors, the model loaded."""
    for widget in pilot.app.query(Input):
        widget.cursor_blink = False
    for widget in pilot.app.query(TextArea):
        widget.cursor_blink = False
    await ready(pilot)


async def ran(pilot) -> None:
    await steady(pilot)
    await pilot.press("ctrl+r")
    await wait_until(pilot, idle(pilot.app))


def test_playground_after_a_run_with_a_token_inspected(snap_compare):
    async def before(pilot):
        await ran(pilot)
        pilot.app.query_one(TokenView).focus()
        await pilot.press("home", "right")

    assert snap_compare(scripted_app(), terminal_size=SIZE, run_before=before)


def test_playground_at_80x24_keeps_the_query_shots_legend_and_output_in_view(snap_compare):
    async def before(pilot):
        await ran(pilot)
        pilot.app.query_one(TokenView).focus()
        await pilot.press("home", "right")

    assert snap_compare(scripted_app(), terminal_size=SMALL, run_before=before)


def test_prompt_tab_with_token_boundaries(snap_compare):
    async def before(pilot):
        await steady(pilot)
        await pilot.press("f3", "ctrl+t")

    assert snap_compare(scripted_app(), terminal_size=SIZE, run_before=before)


def test_edit_tab_showing_a_validation_error(snap_compare):
    async def before(pilot):
        await steady(pilot)
        await pilot.press("f4")
        editor = pilot.app.query_one(EditPane)
        editor.area.load_text(editor.area.text.replace("[params]", "[params"))
        await wait_until(pilot, lambda: bool(editor.errors))

    assert snap_compare(scripted_app(), terminal_size=SIZE, run_before=before)


def test_help_screen(snap_compare):
    async def before(pilot):
        await steady(pilot)
        await pilot.press("f1")

    assert snap_compare(scripted_app(), terminal_size=SIZE, run_before=before)


def test_chat_tab_after_two_turns_with_a_reply_token_inspected(snap_compare):
    async def before(pilot):
        await steady(pilot)
        pane = pilot.app.query_one(ChatPane)
        await pilot.press("f6")
        await wait_until(pilot, lambda: pane.session is not None)
        pilot.app.engine.enqueue([" Once", " upon", " a", " time", "."])
        for text in ("Hello!", "Tell me a story"):
            pilot.app.query_one("#chat-input", Input).value = text
            await pilot.press("enter")
            await wait_until(pilot, lambda: not pane.busy and pane.session.last_completion)
        await pilot.press("ctrl+o", "left")

    app = scripted_app(n_ctx=8192)  # the scaffold's bytes are the fake engine's tokens
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
