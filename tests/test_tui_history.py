"""The TUI and the history: runs, continues and branches recorded; the History tab reopens them."""

from __future__ import annotations

from textual.widgets import DataTable, Input
from tui_support import REPLY, SIZE, fake_app, idle, ready, sync, wait_until

from gptplay.engine.fake import FakeEngine
from gptplay.history import runs
from gptplay.tui.chat_tab import ChatPane
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.token_view import TokenView


def recorded(command: str | None = None) -> list[runs.StoredRun]:
    return runs.listing(runs.Filters(command=command, limit=100))


@sync
async def test_a_run_a_continue_and_a_branch_are_each_recorded():
    engine = FakeEngine()
    engine.enqueue(REPLY)
    engine.enqueue([" et", " demain"])
    engine.enqueue([" nuit"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one(ParamsPanel).query_one("#p-seed").value = "11"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(recorded()) == 1)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: len(recorded()) == 2)
        await pilot.press("ctrl+o", "home", "right", "right", "2")  # branch at " est"
        await wait_until(pilot, lambda: len(recorded()) == 3 and idle(app)())
    branch, cont, run = (runs.load(r.id) for r in recorded("tui"))
    assert run.task == "translate" and run.extra["kind"] == "run" and run.parent is None
    assert run.output == "".join(REPLY) and run.seed == 11 and run.settings["seed"] == 11
    assert run.prompt.startswith("Translate English to French:") and run.prompt_hash
    assert cont.extra["kind"] == "continue" and cont.parent == run.id
    assert cont.output == " et demain" and [e.text for e in cont.context] == REPLY
    assert list(cont.prompt_ids) == engine.prompts[1]
    assert branch.extra["kind"] == "branch" and branch.parent == cont.id
    assert [e.text for e in branch.context] == [" la", " mer", " other"]
    assert branch.output == " nuit"


@sync
async def test_the_history_tab_filters_and_reopens_a_run_to_branch_from():
    engine = FakeEngine()
    engine.enqueue(REPLY)
    engine.enqueue([" fromage"])
    engine.enqueue([" nuit"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(recorded()) == 1)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(recorded()) == 2 and idle(app)())
        first = recorded()[-1]
        await pilot.press("f7")
        table = app.query_one("#history-list", DataTable)
        assert app.focused is app.query_one("#history-filter")
        assert table.row_count == 2
        await pilot.press(*"belle")  # filter as you type: only the first run's output has it
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("enter")
        view = app.query_one("#output", TokenView)
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "play")
        assert "".join(e.text for e in view.tokens) == "".join(REPLY)
        assert view.tokens[0].top and app.transcript.current.completion.seed == first.seed
        assert app.query_one(ParamsPanel).query_one("#p-seed", Input).value == str(first.seed)
        assert "reopened run" in str(app.query_one("#status").render())
        await pilot.press("home", "right", "2")  # branch from the reopened run
        await wait_until(pilot, lambda: len(recorded()) == 3 and idle(app)())
        assert engine.prompts[-1][-2:] == [1000, 2001]  # " la", then alt 2 of " mer"
        assert "".join(e.text for e in view.tokens) == " la other nuit"
    assert runs.load(recorded()[0].id).parent == first.id


@sync
async def test_a_chat_is_recorded_and_resumed_from_the_history_tab():
    engine = FakeEngine(n_ctx=8192)
    engine.enqueue([" Bonjour", "!"])
    engine.enqueue([" Again", "?"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        pane = app.query_one(ChatPane)
        await wait_until(pilot, lambda: pane.session is not None)
        app.query_one("#chat-input", Input).value = "Hello"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(recorded("tui-chat")) == 1)
        conversation = pane.session.conversation_id
        pane.session.reset()  # a new conversation in the tab
        pane.sync_turns()
        await pilot.press("f7")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "chat")
        assert [m.content for m in pane.session.conversation.messages] == ["Hello", "Bonjour!"]
        assert pane.session.conversation_id == conversation
        app.query_one("#chat-input", Input).value = "Once more"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(recorded("tui-chat")) == 2)
    turns = recorded("tui-chat")
    assert {t.conversation for t in turns} == {conversation}
    assert [m["content"] for m in turns[0].extra["messages"]][-2:] == ["Once more", "Again?"]


@sync
async def test_no_history_records_nothing():
    engine = FakeEngine()
    app, _ = fake_app(engine, history=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        await pilot.pause(0.1)
    assert recorded() == []


@sync
async def test_a_reopened_complete_run_sets_every_pane_and_compare_runs_it():
    from gptplay.tui.compare_tab import ComparePane
    from gptplay.tui.editor import EditPane
    from gptplay.tui.prompt_view import PromptView
    from tests.cli_support import invoke

    text = "Once upon a time,\nthere was"
    cli = FakeEngine()
    cli.enqueue([" a", " fox"])
    ran = invoke("complete", text, "-t", "0.3", "-n", "5", "--top-k", "7", engine=cli)
    assert ran.exit_code == 0, ran.error
    engine = FakeEngine(n_ctx=4096)
    app, _ = fake_app(engine)  # translate is open: its stop "\n" and max_tokens 32
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f7")
        await wait_until(pilot, lambda: app.query_one("#history-list", DataTable).row_count == 1)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "play")
        assert app.composition.spec.name == "complete" and app.composition.shots == 0
        assert app.composition.compose().text == text
        assert app.query_one("#q-prompt", Input).value == text  # the Composer shows it
        assert "translate" not in str(app.query_one("#composer").border_title)
        prompt_view = app.query_one(PromptView)
        prompt_view.refresh_prompt(app.engine)
        assert prompt_view.text == text  # the Prompt tab too
        editor = app.query_one(EditPane)
        assert editor.name_ == "complete" and not editor.dirty and not editor.errors
        params = app.query_one(ParamsPanel).params()
        assert params.top_k == 7 and params.max_tokens == 5 and params.temperature == 0.3
        assert not params.stop  # translate's stop is gone
        await pilot.press("f8")
        pane = app.query_one(ComparePane)
        pane.query_one("#cmp-axis").value = "temperature"
        await pilot.pause()
        pane.query_one("#cmp-values", Input).value = "0,0.8"
        engine.enqueue([" a"])
        engine.enqueue([" b"])
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not pane.busy and len(pane.results) == 2)
        assert [r.variant.prompt for r in pane.results] == [text, text]
        params = [r.variant.params for r in pane.results]
        assert [p.max_tokens for p in params] == [5, 5] and [p.top_k for p in params] == [7, 7]
        assert all(not p.stop for p in params)


def record_an_eval(engine) -> None:
    from gptplay import history

    summaries = [
        {"shots": 0, "runs": 1, "examples": 4, "metrics": {"accuracy": (0.5, 0.0)}},
        {"shots": 4, "runs": 3, "examples": 4, "metrics": {"accuracy": (0.75, 0.1)}},
    ]
    table = "┏━━━━━━┳━━━━━━━━━━┓\n┃ shots┃ accuracy ┃\n┡━━━━━━╇━━━━━━━━━━┩"
    history.record_eval(engine, "sst2", {"temperature": 0.0}, summaries, table, prompt="x")


@sync
async def test_the_history_tab_previews_an_eval_by_its_scores_and_a_continue_by_its_text():
    engine = FakeEngine()
    engine.enqueue(REPLY)
    engine.enqueue([" et", " demain"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(recorded()) == 1)
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: len(recorded()) == 2 and idle(app)())
        record_an_eval(engine)
        await pilot.press("f7")
        table = app.query_one("#history-list", DataTable)
        await wait_until(pilot, lambda: table.row_count == 3)
        outputs = [str(table.get_row_at(n)[-1]) for n in range(3)]
    assert outputs[0] == "0-shot accuracy 50.0% · 4-shot accuracy 75.0%"
    assert outputs[1] == "".join(REPLY + [" et", " demain"]).strip()  # the whole branch
    assert outputs[2] == "".join(REPLY).strip()
