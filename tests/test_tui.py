"""Pilot tests of the playground over a scripted engine: the interactions the issue lists."""

from __future__ import annotations

from textual.widgets import Input
from tui_support import REPLY, SIZE, fake_app, idle, ready, sync, wait_until

from gptplay.engine.fake import FakeEngine
from gptplay.library import load_file
from gptplay.tui import create_app
from gptplay.tui.composer import DemoList
from gptplay.tui.editor import EditPane
from gptplay.tui.inspector import Inspector
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.prompt_view import PromptView
from gptplay.tui.screens import ConfirmScreen, HelpScreen, NameScreen
from gptplay.tui.token_view import TokenView


@sync
async def test_select_a_prompt_from_the_filtered_library():
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+l", *"senti", "enter")  # Ctrl+L: into the library filter
        options = app.query_one("#prompts")
        assert options.option_count == 1
        # one Enter in the filter opens the first match, as the README says
        await wait_until(pilot, lambda: app.composition.spec.name == "sentiment")
        assert app.query_one(ParamsPanel).values()["max_tokens"] == 3  # the prompt's [params]
        assert app.query_one("#q-sentence") is not None  # its query field


@sync
async def test_shots_move_between_zero_one_and_few_shot():
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # startup done: the query field has taken focus
        comp = app.composition
        assert comp.shots == 3
        app.query_one(DemoList).focus()
        await pilot.press("alt+left", "alt+left")
        assert comp.shots == 1
        assert "1 demonstration" in str(app.query_one("#prompt-info").render())
        await pilot.press("alt+left", "alt+left")  # never below zero
        assert comp.shots == 0
        assert "one-shot" not in str(app.query_one("#shots").render())
        assert "zero-shot" in str(app.query_one("#shots").render())
        text = comp.compose().text
        assert text == "Translate English to French:\n =>"
        await pilot.press("alt+right", "alt+right", "alt+right", "alt+right")
        assert comp.shots == 4
        assert comp.compose().text.count(" => ") == 4


@sync
async def test_demonstrations_are_excluded_and_reordered():
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # startup done: the query field has taken focus
        demos = app.query_one(DemoList)
        demos.focus()
        demos.highlighted = 0
        await pilot.press("space")  # exclude "sea otter"
        text = app.composition.compose().text
        assert "sea otter" not in text and "peppermint" in text
        demos.highlighted = 1
        await pilot.press("ctrl+up")  # peppermint now first
        assert app.composition.order[:2] == [1, 0]
        demos.highlighted = 2
        await pilot.press("space")  # include plush giraffe again? it was included: exclude it
        lines = app.composition.compose().text.splitlines()
        assert lines[1].startswith("peppermint")
        assert app.query_one(PromptView).text == app.composition.compose().text


@sync
async def test_run_streams_tokens_and_reports_status():
    engine = FakeEngine()
    engine.enqueue(REPLY)
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.click("#q-english")
        await pilot.press(*"the sea", "ctrl+r")
        await wait_until(pilot, idle(app))
        view = app.query_one(TokenView)
        assert "".join(e.text for e in view.tokens) == "".join(REPLY)
        assert engine.prompts[-1] == engine.tokenize(app.composition.compose().text)
        assert app.composition.compose().text.endswith("the sea =>")
        status = str(app.query_one("#status").render())
        n_prompt = len(engine.prompts[-1])
        assert f"{len(REPLY)} tokens" in status
        assert f"context {n_prompt + len(REPLY)}/{engine.n_ctx}" in status
        assert "seed" in status and "finish: stop" in status


@sync
async def test_escape_cancels_mid_stream_and_keeps_the_text():
    engine = FakeEngine(delay_s=0.05)
    engine.enqueue([f" w{i}" for i in range(200)])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one(ParamsPanel).query_one("#p-max_tokens").value = "200"
        await pilot.press("ctrl+r")
        view = app.query_one(TokenView)
        await wait_until(pilot, lambda: len(view.tokens) >= 3)
        await pilot.press("escape")
        await wait_until(pilot, idle(app))
        assert app.transcript.current.completion.finish_reason == "interrupted"
        assert 3 <= len(view.tokens) < 200
        status = str(app.query_one("#status").render())
        assert "finish: interrupted" in status and "cancel" not in status  # one word


@sync
async def test_inspect_then_branch_then_go_back():
    engine = FakeEngine()
    engine.enqueue(REPLY)
    engine.enqueue([" nuit"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        prompt_ids = engine.prompts[-1]
        view = app.query_one(TokenView)
        await pilot.press("ctrl+o")  # the keyboard way into the output
        assert app.focused is view
        await pilot.press("home", "right", "right")  # the third token, " est"
        inspector = app.query_one(Inspector)
        assert inspector.index == 2 and inspector.event.text == " est"
        assert "50.0%" in str(inspector.get_option_at_index(0).prompt)
        await pilot.press("2")  # take the second alternative
        await wait_until(pilot, idle(app))
        kept = [e.id for e in app.transcript.history[0].events[:2]]
        assert engine.prompts[-1] == prompt_ids + kept + [2002]  # FakeEngine's alt 2 id
        assert view.tokens[2].text == " other" and view.tokens[3].text == " nuit"
        assert "branch 2" in str(app.query_one("#status").render())
        await pilot.press("ctrl+b")
        assert "".join(e.text for e in view.tokens) == "".join(REPLY)


@sync
async def test_branch_by_choosing_an_alternative_with_the_mouse():
    engine = FakeEngine()
    engine.enqueue(REPLY)
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        await pilot.click(TokenView, offset=(2, 0))  # " la" is the first token
        inspector = app.query_one(Inspector)
        assert inspector.index == 0
        await pilot.click(Inspector, offset=(4, 5))  # the third alternative's row: "\n"
        await wait_until(pilot, lambda: app.transcript.depth == 1 and idle(app)())
        assert app.query_one(TokenView).tokens[0].text == "\n"


@sync
async def test_edit_invalid_then_valid_and_save_a_user_copy(user_dirs):
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # startup done: the query field has taken focus
        await pilot.press("f4")
        editor = app.query_one(EditPane)
        area = editor.area
        original = area.text
        area.load_text(original.replace('answer = "french"', 'answer = "frnch"'))
        await wait_until(pilot, lambda: bool(editor.errors))
        check = str(app.query_one("#edit-check").render())
        assert "line" in check and "frnch" in check
        await pilot.press("ctrl+s")
        target = user_dirs / "prompts" / "translate.toml"
        assert not target.exists()  # an invalid prompt is never written
        edited = original.replace("max_tokens = 32", "max_tokens = 12  # shorter")
        area.load_text(edited)
        await wait_until(pilot, lambda: not editor.errors)
        assert "valid" in str(app.query_one("#edit-check").render())
        assert editor.dirty
        await pilot.press("ctrl+s")
        assert target.read_text(encoding="utf-8") == edited  # comments and layout kept
        assert not editor.dirty
        assert load_file(target).params["max_tokens"] == 12
        panel = app.query_one(ParamsPanel)
        await wait_until(pilot, lambda: panel.values()["max_tokens"] == 12)  # recomposed
        assert any(e.name == "translate" and e.origin == "user" for e in app.library.entries())


@sync
async def test_f4_puts_the_cursor_in_the_toml_and_tab_leaves_it():
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # startup done: the query field has taken focus
        await pilot.press("f4")
        area = app.query_one(EditPane).area
        await wait_until(pilot, lambda: app.focused is area)
        before = area.text
        await pilot.press("#", "x")
        assert area.text == "#x" + before  # typing edits at once, no Tab needed
        await pilot.press("tab")
        assert app.focused is not area and area.text == "#x" + before  # no indentation


@sync
async def test_unsaved_changes_are_never_lost_silently(user_dirs):
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # startup done: the query field has taken focus
        editor = app.query_one(EditPane)
        editor.area.load_text(editor.area.text + "\n# a note\n")
        app.guard_unsaved(lambda: app.open_prompt("sentiment"))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")  # cancel: nothing changes
        assert app.composition.spec.name == "translate" and editor.dirty
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#save")
        await wait_until(pilot, lambda: not app.is_running)
    assert (user_dirs / "prompts" / "translate.toml").read_text().endswith("# a note\n")


@sync
async def test_enter_on_the_unsaved_changes_dialog_cancels_and_saves_nothing(user_dirs):
    app, _ = fake_app(prompt="qa")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        editor = app.query_one(EditPane)
        editor.area.load_text(editor.area.text + "\n# half-typed")
        app.guard_unsaved(lambda: app.open_prompt("sentiment"))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused.id == "cancel"  # the safe choice is the default
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.composition.spec.name == "qa" and editor.dirty
        assert not (user_dirs / "prompts" / "qa.toml").exists()  # no copy shadows the built-in
        editor.area.load_text(editor.area.text + "\nkind = 3\n")  # not valid
        app.guard_unsaved(lambda: app.open_prompt("sentiment"))
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.click("#save")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert not (user_dirs / "prompts" / "qa.toml").exists()  # refused, as on Ctrl+S
        assert app.composition.spec.name == "qa"
        assert any("not saved" in (n.title or "") for n in app._notifications)


@sync
async def test_save_the_composition_as_a_new_prompt(user_dirs):
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)  # startup done: the query field has taken focus
        app.query_one(DemoList).focus()
        await pilot.press("alt+left")  # two demonstrations
        app.query_one(ParamsPanel).query_one("#p-temperature").value = "0.3"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: isinstance(app.screen, NameScreen))
        await pilot.press("enter")  # the suggested name
        path = user_dirs / "prompts" / "my-translate.toml"
        await wait_until(pilot, path.exists)
        spec = load_file(path)
        assert len(spec.examples) == 2 and spec.params["temperature"] == 0.3
        assert "my-translate" in [e.name for e in app.query_one("#library").entries]


@sync
async def test_help_screen_and_bad_parameter():
    app, engine = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        box = app.screen.query_one("#help-box")
        assert box.region.width >= 100  # every key's description readable (it was 17 wide)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        app.query_one(ParamsPanel).query_one("#p-top_p").value = "1.5"
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert engine.prompts == []  # refused, with the reason shown
        assert any("top-p" in n.message for n in app._notifications)


@sync
async def test_the_model_field_holds_a_name_that_loads_and_a_failed_load_keeps_the_model():
    from gptplay.errors import ModelError

    engine = FakeEngine(model_name="gemma-3-270m (Q4_K_M, embedded)")
    asked: list[str | None] = []

    def factory(settings):
        model = settings["model"] if settings["model"] != "default" else None
        asked.append(model)
        if model == "nope":
            raise ModelError("Model file not found: nope")
        return engine

    app = create_app(factory, prompt="translate")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        field = app.query_one("#p-model", Input)
        assert field.value == "" and field.tooltip == engine.model_name  # not the display name
        field.focus()
        await pilot.press("enter")  # unchanged: nothing is reloaded
        await pilot.pause()
        assert asked == [None] and app.engine is engine
        field.value = "nope"
        await pilot.press("enter")
        await wait_until(pilot, lambda: len(asked) == 2 and app.engine is not None)
        assert app.engine is engine and "kept" in str(app.query_one("#status").render())
        assert field.value == ""  # back to the name of the model still loaded
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))  # runs on the kept model
        assert len(engine.prompts) == 1


@sync
async def test_demonstration_boxes_the_shots_button_the_stop_field_and_a_settled_status():
    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        demos = app.query_one(DemoList)
        demos.focus()
        await pilot.press("alt+left")  # 2 of 10 included: the rest are off
        await pilot.pause()
        boxes = [demos.render_line(y).text[:3] for y in range(4)]
        assert boxes[:2] == ["▐X▌"] * 2 and boxes[2:] == ["▐ ▌"] * 2  # on and off look apart
        plus = app.query_one("#more").region.x
        await pilot.press("alt+left", "alt+left")  # zero-shot: a shorter label
        await pilot.pause()
        assert app.query_one("#more").region.x == plus  # the + button stays put
        stop = app.query_one("#p-stop", Input)
        assert stop.placeholder == "none" and "\\n" in str(stop.tooltip)
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        assert str(app.query_one("#status").render()).startswith(" done")
        app.query_one("#q-english", Input).value = "cheese"  # a later action
        await pilot.pause()
        assert str(app.query_one("#status").render()).startswith(" ready · Ctrl+R runs")


@sync
async def test_at_80x24_the_query_the_shot_buttons_and_the_legend_are_in_view():
    from gptplay.render import legend
    from gptplay.tui.composer import Composer
    from gptplay.tui.inspector import Inspector

    for size in ((80, 24), (90, 30), (120, 40)):
        app, _ = fake_app()
        async with app.run_test(size=size) as pilot:
            await ready(pilot)
            await pilot.pause()
            box = app.query_one(Composer).region
            for part in ("#q-english", "#fewer", "#shots", "#more"):
                region = app.query_one(part).region
                assert region.area and box.contains_region(region), (size, part, region, box)
            shown = app.query_one("#legend").region
            assert shown.width * shown.height >= len(legend().plain), size  # "<5%" too
            inspector = app.query_one(Inspector).region.width
            assert inspector <= max(34, 0.36 * size[0]) + 1, (size, inspector)


@sync
async def test_f9_shows_the_code_of_the_composed_prompt_and_the_parameters():
    from gptplay.tui.params_panel import ParamsPanel
    from gptplay.tui.screens import CodeScreen

    app, _ = fake_app()
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one("#q-english", Input).value = "cheese"
        app.query_one(ParamsPanel).query_one("#p-top_k", Input).value = "7"
        await pilot.press("f9")
        await wait_until(pilot, lambda: isinstance(app.screen, CodeScreen))
        screen = app.screen
        assert '"Translate English to French:' in screen.python and 'cheese =>"' in screen.python
        assert "top_k=7," in screen.python and "from llama_cpp import Llama" in screen.python
        assert '"top_k": 7' in screen.curl and "curl -s" in screen.curl
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CodeScreen))
