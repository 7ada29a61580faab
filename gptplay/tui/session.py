"""Opening and saving prompts, and never losing an unsaved edit: the app's file side."""

from __future__ import annotations

from collections.abc import Callable

from gptplay.errors import GptplayError
from gptplay.library import check_name, save_spec
from gptplay.tui.composer import Composer
from gptplay.tui.composition import Composition
from gptplay.tui.editor import EditPane
from gptplay.tui.library_panel import LibraryPanel
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.prompt_view import PromptView

DEFAULT_SHOTS = 3


class SessionMixin:
    """Mixed into the App: prompt opening, Ctrl+S, and the unsaved-changes guard."""

    def open_prompt(self, name: str) -> None:
        """Load a prompt into the composer, the parameters and the editor."""
        try:
            spec = self.library.load(name)
            text = spec.source.read_text(encoding="utf-8") if spec.source else ""
        except (GptplayError, OSError) as exc:
            self.notify(str(exc), title="prompt", severity="error", timeout=10, markup=False)
            return
        self.composition = Composition.of(spec, DEFAULT_SHOTS)
        self.query_one(Composer).load(self.composition)
        self.query_one(ParamsPanel).fill(self.settings_layers.resolve(spec.settings_layer()))
        self.query_one(EditPane).load(spec, text)
        self.query_one(PromptView).refresh_prompt(self.engine)
        self.sub_title = name
        self.call_after_refresh(self._focus_query_if_playing)

    def open_plain(self, text: str, title: str) -> None:
        """A prompt without a library file (a reopened `complete` run) in every pane."""
        from gptplay.library import render_toml

        self.composition = Composition.plain(text, title)
        spec = self.composition.spec
        self.query_one(Composer).load(self.composition)
        self.query_one(ParamsPanel).fill(self.settings_layers.resolve())
        self.query_one(EditPane).load(spec, render_toml(spec))
        self.query_one(PromptView).refresh_prompt(self.engine)
        self.sub_title = title

    def _focus_query_if_playing(self) -> None:
        """Choosing a prompt is followed by typing the query, unless another tab is in use."""
        if self.query_one("#tabs").active == "play":
            self.action_focus_query()

    def action_focus_query(self) -> None:
        """Go to the playground and focus the first query field."""
        self.query_one("#tabs").active = "play"
        fields = self.query(".field")
        if fields:
            fields.first().focus()

    def guard_unsaved(self, then: Callable[[], None]) -> None:
        """Run ``then`` now, or after the user saved or discarded the editor's changes."""
        editor = self.query_one(EditPane)
        if not editor.dirty:
            then()
            return
        from gptplay.tui.screens import ConfirmScreen

        def answered(choice: str | None) -> None:
            if choice == "save":
                try:
                    editor.save()
                except GptplayError as exc:
                    self.notify(
                        str(exc), title="not saved", severity="error", timeout=10, markup=False
                    )
                    self.action_tab("edit")
                    return
                then()
            elif choice == "discard":
                then()

        message = f"'{editor.name_}' has unsaved changes in the Edit tab."
        self.push_screen(ConfirmScreen(message), answered)

    def action_view_code(self) -> None:
        """The Python and curl calls that reproduce the Playground's prompt and settings."""
        from gptplay.codegen import code, target_of
        from gptplay.settings import Layer
        from gptplay.settings.schema import SESSION
        from gptplay.tui.screens import CodeScreen

        if self.composition is None:
            self.notify("choose a prompt in the library first", severity="warning")
            return
        try:
            text = self.composition.compose().text
            settings = self.query_one(ParamsPanel).settings()
            if self.model is not None:  # the model typed in the parameters and loaded
                settings = settings.over(Layer(SESSION, {"model": self.model}, "the TUI"))
            target, params = target_of(settings), settings.sampling()
        except GptplayError as exc:
            self.notify(str(exc), title="code", severity="error", markup=False)
            return
        self.push_screen(
            CodeScreen(code("python", text, params, target), code("curl", text, params, target))
        )

    async def action_quit(self) -> None:
        self.guard_unsaved(self.exit)

    def action_save(self) -> None:
        """Edit tab: save the TOML. Elsewhere: save the composition as a new prompt."""
        if self.query_one("#tabs").active == "edit":
            try:
                self.query_one(EditPane).save()
            except GptplayError as exc:
                self.notify(str(exc), title="not saved", severity="error", timeout=10, markup=False)
            return
        if self.composition is None:
            return
        from gptplay.tui.screens import NameScreen

        suggestion = f"my-{self.composition.spec.name}"
        self.push_screen(NameScreen(suggestion), self._save_as)

    def _save_as(self, name: str | None) -> None:
        if name is None or self.composition is None:
            return
        try:
            check_name(name)
            path = self.library.user_path(name)
            if path.exists():
                raise GptplayError(
                    f"{path} already exists.", hint="choose another name, or edit that prompt."
                )
            values = self.query_one(ParamsPanel).values()
            params = {k: v for k, v in values.items() if v is not None}
            save_spec(self.composition.as_spec(name, params), path)
        except GptplayError as exc:
            self.notify(str(exc), title="not saved", severity="error", timeout=10, markup=False)
            return
        self.notify(f"saved {path}", markup=False)
        self.query_one(LibraryPanel).set_entries(self.library.entries())

    def on_edit_pane_saved(self, event: EditPane.Saved) -> None:
        """The library now has the user's copy: list it, and compose from what was saved."""
        self.query_one(LibraryPanel).set_entries(self.library.entries())
        self.notify(f"saved {event.path}", markup=False)
        comp = self.composition
        if comp is not None and comp.spec.name == event.name:
            spec = self.library.load(event.name)
            self.composition = Composition.of(spec, comp.shots)
            for key in self.composition.query.keys() & comp.query.keys():
                self.composition.query[key] = comp.query[key]  # keep what the user typed
            self.query_one(Composer).load(self.composition)
            self.query_one(ParamsPanel).fill(self.settings_layers.resolve(spec.settings_layer()))
            self.query_one(PromptView).refresh_prompt(self.engine)
