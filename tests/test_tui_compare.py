"""The Compare tab with Pilot over the FakeEngine: columns, divergence, cursor echo, Enter."""

from __future__ import annotations

import itertools

from textual.widgets import Input
from tui_support import SIZE, fake_app, ready, sync, wait_until

from gptplay.engine.fake import FakeEngine
from gptplay.tui import create_app
from gptplay.tui.compare_tab import ComparePane, CompareView
from gptplay.tui.token_view import TokenView


def finished(app):
    pane = app.query_one(ComparePane)

    def done() -> bool:
        """the comparison to finish"""
        return not pane.busy and bool(pane.results)

    return done


async def compared(pilot, replies, values: str = "0,1,3", axis: str = "shots") -> ComparePane:
    await ready(pilot)
    query = pilot.app.composition.query
    if not query.get("english"):  # an empty query is refused, as the CLI refuses it
        query["english"] = "cheese"
    for reply in replies:
        pilot.app.engine.enqueue(reply)
    await pilot.press("f8")
    pane = pilot.app.query_one(ComparePane)
    pane.query_one("#cmp-axis").value = axis
    await pilot.pause()
    pane.query_one("#cmp-values", Input).value = values
    await pilot.press("ctrl+r")
    await wait_until(pilot, finished(pilot.app))
    return pane


@sync
async def test_shots_stream_into_columns_and_the_divergence_is_marked():
    app, engine = fake_app(FakeEngine(n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        pane = await compared(pilot, [[" fro", "mage"], [" fro", "mages"], [" le", " fromage"]])
        views = pane.views()
        texts = ["".join(e.text for e in v.tokens) for v in views[:3]]
        assert texts == [" fromage", " fromages", " le fromage"]
        assert [v.parent.border_title for v in views[:3]] == ["zero-shot", "one-shot", "3-shot"]
        assert not views[3].parent.display  # three variants: three columns
        # the three prompts differ by their demonstrations
        assert [p.count(ord("=") + 1) for p in engine.prompts] == [1, 2, 4]
        assert pane.divergence.position == 0 and all(v.diverge == 0 for v in views[:3])
        assert "diverge at token 1" in pane.note
        odds = str(pane.query_one("#cmp-note").render())
        assert "zero-shot took ·fro: ·fro 50.0% ·le 50.0%" in odds
        assert pane.footer_text(0).startswith("lp -0.69 · ppl 2.00 · 2 tok · stop")


@sync
async def test_the_cursor_in_one_column_shows_in_the_others_and_the_inspector():
    app, _ = fake_app(FakeEngine(n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        replies = [["a", "b", "c"], ["a", "b", "d"]]
        pane = await compared(pilot, replies, values="0,0.8", axis="temperature")
        assert [v.parent.border_title for v in pane.views()[:2]] == ["t=0", "t=0.8"]
        views = pane.views()
        assert pane.divergence.position == 2
        views[0].focus()
        await pilot.press("home", "right")
        assert views[0].cursor == 1 and views[1].echo == 1
        inspector = pane.query_one("#cmp-inspector")
        assert inspector.index == 1 and inspector.event.text == "b"


@sync
async def test_enter_sends_a_variant_to_the_playground_to_continue():
    app, engine = fake_app(FakeEngine(n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        pane = await compared(pilot, [[" un"], [" deux"], [" trois"]])
        pane.views()[1].focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "play")
        assert app.composition.shots == 1
        assert app.query_one("#demos").selected == [0]  # the composer shows the variant
        output = app.query_one("#output", TokenView)
        assert "".join(e.text for e in output.tokens) == " deux"
        assert app.transcript.prompt_ids == engine.prompts[1]
        engine.enqueue([" encore"])
        await pilot.press("ctrl+g")  # continue the variant in the Playground
        await wait_until(pilot, lambda: len(output.tokens) == 2)
        assert engine.prompts[-1][: len(engine.prompts[1])] == engine.prompts[1]


@sync
async def test_bad_values_are_one_notice_and_nothing_runs():
    app, engine = fake_app(FakeEngine(n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f8")
        pane = app.query_one(ComparePane)
        for bad in ("0", "0,x", "0,1,2,3,4", "0,99"):
            pane.query_one("#cmp-values", Input).value = bad
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert not pane.busy and engine.prompts == []
        assert len(app._notifications) == 4


@sync
async def test_an_empty_query_is_refused_as_the_cli_refuses_it():
    from tests.cli_support import invoke

    app, engine = fake_app(FakeEngine(n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f8", "ctrl+r")
        await pilot.pause()
        pane = app.query_one(ComparePane)
        assert not pane.busy and engine.prompts == [] and pane.results == []
        notice = [n.message for n in app._notifications]
        assert any("needs a value for the field 'english'" in m for m in notice), notice
        app.composition.query["english"] = "   "
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert engine.prompts == []
    for given in ([], ["--input", ""], ["--input", "  "]):
        ran = invoke("compare", "translate", "--shots", "0,1", *given)
        assert ran.exit_code != 0 and "needs a value for the field 'english'" in ran.error


def test_compare_view_is_a_token_view():
    assert issubclass(CompareView, TokenView)


def test_compare_tab_snapshot_after_a_run_with_a_token_inspected(snap_compare):
    ticks = itertools.count()
    engine = FakeEngine(4096, clock=lambda: next(ticks) * 0.1, model_name="fake-model")
    app, _ = fake_app(engine)

    async def before(pilot):
        for widget in pilot.app.query(Input):
            widget.cursor_blink = False
        pane = await compared(pilot, [[" fro", "mage"], [" fro", "mages"], [" le", " fromage"]])
        pane.views()[2].focus()
        await pilot.press("home", "right")

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_compare_tab_snapshot_at_80x24_with_its_figures_under_each_column(snap_compare):
    ticks = itertools.count()
    engine = FakeEngine(4096, clock=lambda: next(ticks) * 0.1, model_name="fake-model")
    app, _ = fake_app(engine)

    async def before(pilot):
        for widget in pilot.app.query(Input):
            widget.cursor_blink = False
        await compared(pilot, [[" fro", "mage"], [" fro", "mages"], [" le", " fromage"]])

    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


@sync
async def test_other_prompts_keep_the_query_and_a_second_model_is_loaded_for_its_column():
    loads: list[str | None] = []
    engine = FakeEngine(n_ctx=4096, model_name="first")

    def factory(settings):
        model = settings["model"]
        loads.append(model)
        return engine if model == "default" else FakeEngine(n_ctx=4096, model_name=model)

    app = create_app(factory, prompt="translate")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.composition.query["english"] = "cheese"
        pane = await compared(pilot, [[" a"], [" b"]], values="translate,translate-zh", axis="task")
        assert [v.parent.border_title for v in pane.views()[:2]] == ["translate", "translate-zh"]
        assert [r.variant.settings["task"] for r in pane.results] == ["translate", "translate-zh"]
        prompts = [r.variant.prompt for r in pane.results]
        assert prompts[0].endswith("cheese =>") and prompts[1].endswith("English: cheese\nChinese:")
        pane = await compared(pilot, [[" c"]], values="current,other", axis="model")
        assert loads == ["default", "other"]  # the loaded model is not loaded again
        assert [r.model for r in pane.results] == ["first", "other"]


@sync
async def test_escape_stops_a_comparison_and_keeps_what_streamed():
    app, engine = fake_app(FakeEngine(n_ctx=4096, delay_s=0.05))
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        engine.enqueue([" x"] * 200)
        app.composition.query["english"] = "cheese"
        await pilot.press("f8", "ctrl+r")
        pane = app.query_one(ComparePane)
        await wait_until(pilot, lambda: len(pane.views()[0].tokens) > 2)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not pane.busy)
        assert pane.note == "cancelled" and 2 < len(pane.views()[0].tokens) < 200
        assert pane.views()[1].tokens == []  # the second variant never started


@sync
async def test_a_comparison_in_the_tab_is_recorded_as_one_group():
    from gptplay.history import runs

    app, _ = fake_app(FakeEngine(n_ctx=4096))
    async with app.run_test(size=SIZE) as pilot:
        await compared(pilot, [[" un"], [" deux"]], values="0,1")
    stored = runs.listing(runs.Filters(limit=10, command="compare"))
    assert len(stored) == 2 and len({r.extra["comparison"] for r in stored}) == 1
