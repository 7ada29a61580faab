"""The app's side of the Compare tab: run from the Playground's prompt, send a variant back."""

from __future__ import annotations

from gptplay.errors import GptplayError
from gptplay.settings import Layer
from gptplay.settings.schema import SESSION
from gptplay.tui.compare_tab import ComparePane
from gptplay.tui.compare_variants import copy_of
from gptplay.tui.composer import Composer
from gptplay.tui.inspector import Inspector
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.prompt_view import PromptView
from gptplay.tui.token_view import TokenView


class CompareMixin:
    """Mixed into the App, next to SessionMixin."""

    def compare_loader(self, model: str):
        """Load another model for the Compare tab's model axis (in its worker thread)."""
        edit = Layer(SESSION, {"model": model}, "the Compare tab")
        return self.engine_factory(self.settings_layers.resolve(session=edit))

    def compare_run(self) -> None:
        """Ctrl+R on the Compare tab: the variants of the Playground's current prompt."""
        pane = self.query_one(ComparePane)
        if self.composition is None:
            self.notify("choose a prompt in the library first", severity="warning")
            return
        if self.generating or self.query_one("#chat-pane").busy:
            self.notify("a run is streaming (Escape stops it)", severity="warning")
            return
        try:
            params = self.query_one(ParamsPanel).params()
            pane.run(self.composition, params, self.library)
        except GptplayError as exc:
            self.notify(str(exc), title="compare", severity="error")
        self.show_status()

    def on_compare_pane_run_requested(self, message: ComparePane.RunRequested) -> None:
        self.compare_run()

    def on_compare_pane_changed(self, message: ComparePane.Changed) -> None:
        self.show_status()

    def on_compare_pane_send(self, message: ComparePane.Send) -> None:
        """Put the variant's prompt, settings and output in the Playground, to continue it."""
        recipe, result = message.recipe, message.result
        comp = copy_of(recipe.composition)

        def apply() -> None:
            if self.composition is None or comp.spec.name != self.composition.spec.name:
                self.open_prompt(comp.spec.name)
            self.composition = comp
            self.query_one(Composer).load(comp)
            prompt = self.settings_layers.resolve(comp.spec.settings_layer())
            panel = self.query_one(ParamsPanel)
            panel.fill(prompt.with_params(recipe.params, "the Compare tab"))
            self.transcript.start(result.prompt_ids)
            self.transcript.append(list(result.completion.events))
            self.transcript.current.completion = result.completion
            self.query_one("#output", TokenView).set_tokens(self.transcript.current.events)
            self.query_one(Inspector).show(None, None)
            self.query_one(PromptView).refresh_prompt(self.engine)
            self.state = f"from Compare: {result.variant.label} · Ctrl+G continues"
            self.action_tab("play")
            self.show_status()
            if self.engine is not None and result.model != self.engine.model_name:
                self.notify(
                    f"this variant ran on {result.model}; Ctrl+G here continues it on "
                    f"{self.engine.model_name} (load the other one in the parameters)",
                    severity="warning",
                )

        self.guard_unsaved(apply)
