"""The TUI shows text from files as text, never markup (issue 17 item 1)."""

from __future__ import annotations

from textual.content import Content
from tui_support import SIZE, fake_app, ready, sync, wait_until

from tests.test_faults_input import BROKEN_PROMPT, MARKUP_PROMPT


@sync
async def test_markup_in_prompts_paths_and_errors_is_shown_as_text(tmp_path):
    lib = tmp_path / "lib[/]x"
    lib.mkdir(parents=True)
    (lib / "evil.toml").write_text(MARKUP_PROMPT)
    (lib / "bad.toml").write_text(BROKEN_PROMPT)
    app, _ = fake_app(prompt="evil", library=lib)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_until(pilot, lambda: app.composition is not None)
        assert app.composition.spec.title == "[/]"
        await pilot.press("f3")  # the Prompt tab: the instruction's '[/]' as typed
        await pilot.pause()
        await pilot.press("f4")  # the Edit tab names the path with '[/]' in it
        await pilot.pause()
        await pilot.press("f2")
        app.open_prompt("bad")  # an error naming '[/]' (unknown kind) is a notification
        await wait_until(pilot, lambda: any("[/]" in n.message for n in app._notifications))
        for note in app._notifications:  # what a toast shows: the text as written
            shown = Content.from_markup(note.message) if note.markup else Content(note.message)
            assert shown.plain == note.message
        assert app.is_running
