"""The composer: instruction, demonstrations (in or out, reordered), shots, query, variables."""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.strip import Strip
from textual.widgets import Button, Input, Label, SelectionList, TextArea
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from gptplay.render import visible
from gptplay.tui.composition import Composition, shots_label


class DemoList(SelectionList[int]):
    """Demonstrations: Space includes or excludes one, Ctrl+Up/Down moves it."""

    BINDINGS = [
        Binding("ctrl+up", "shift(-1)", "Move up", show=False),
        Binding("ctrl+down", "shift(1)", "Move down", show=False),
    ]

    class Moved(Message):
        def __init__(self, example: int, delta: int) -> None:
            super().__init__()
            self.example = example
            self.delta = delta

    def action_shift(self, delta: int) -> None:
        if self.highlighted is not None:
            example = self.get_option_at_index(self.highlighted).value
            self.post_message(self.Moved(example, delta))

    def render_line(self, y: int) -> Strip:
        """An excluded demonstration's box is empty (Textual draws an X in both, in two greys)."""
        strip = super().render_line(y)
        try:
            value = self.get_option_at_index(self.scroll_offset.y + y).value
        except OptionDoesNotExist:
            return strip
        segments = list(strip)
        if value in self.selected or len(segments) < 2:
            return strip
        if segments[1].text == ToggleButton.BUTTON_INNER:
            segments[1] = Segment(" " * len(segments[1].text), segments[1].style)
        return Strip(segments, strip.cell_length)


class Composer(VerticalScroll):
    """Edits a Composition; every change posts ``Changed``."""

    BINDINGS = [
        Binding("alt+left", "shots(-1)", "Fewer shots", show=False),
        Binding("alt+right", "shots(1)", "More shots", show=False),
    ]

    class Changed(Message):
        """The composition changed: the prompt text must be rebuilt."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.composition: Composition | None = None

    def compose(self) -> ComposeResult:
        # The shot buttons and the query are docked at the bottom: on a small terminal
        # (80x24) the instruction and the demonstrations scroll, and these stay in view.
        with Vertical(id="composer-dock"):
            with Horizontal(id="shots-row"):
                yield Label("Shots", classes="caption")
                yield Button("−", id="fewer", compact=True)
                yield Label("", id="shots")
                yield Button("+", id="more", compact=True)
            yield Vertical(id="query", classes="fields")
        yield Label("Instruction", classes="caption")
        yield TextArea(id="instruction", soft_wrap=True, tab_behavior="focus")
        yield Label("Demonstrations", classes="caption")
        yield DemoList(id="demos")
        yield Label("Variables", classes="caption", id="vars-caption")
        yield Vertical(id="variables", classes="fields")

    def on_mount(self) -> None:
        self.border_title = "Composer"

    def load(self, composition: Composition) -> None:
        """Show a new composition (a prompt was chosen)."""
        self.composition = composition
        spec = composition.spec
        self.border_title = f"Composer · {spec.name}"
        area = self.query_one("#instruction", TextArea)
        with area.prevent(TextArea.Changed):
            area.text = composition.instruction
        self._fields("#query", composition.query, "q")
        self._fields("#variables", composition.variables, "v")
        self.query_one("#vars-caption").display = bool(composition.variables)
        self.query_one("#variables").display = bool(composition.variables)
        self.refresh_demos()

    def _fields(self, where: str, values: dict[str, str], prefix: str) -> None:
        """One labelled input per query field or variable."""
        box = self.query_one(where, Vertical)
        box.remove_children()
        box.mount_all(
            Horizontal(
                Label(k, classes="fname"),
                Input(value=v, placeholder=k, id=f"{prefix}-{k}", classes="field", compact=True),
                classes="frow",
            )
            for k, v in values.items()
        )
        box.styles.height = max(1, len(values))

    def refresh_demos(self, keep: int | None = None) -> None:
        """Rebuild the demonstration list from the composition, keeping the highlight."""
        comp = self.composition
        if comp is None:
            return
        demos = self.query_one("#demos", DemoList)
        spec = comp.spec
        with demos.prevent(SelectionList.SelectionToggled, SelectionList.SelectedChanged):
            demos.clear_options()
            demos.add_options(
                Selection(
                    Text(
                        visible(spec.render_demo(spec.examples[i], comp.variables))[:200],
                        style="" if i in comp.included else "dim",
                    ),
                    i,
                    i in comp.included,
                )
                for i in comp.order
            )
        if keep is not None and keep in comp.order:
            demos.highlighted = comp.order.index(keep)
        total = len(comp.order)
        shots = shots_label(comp.shots).removesuffix(" (few-shot)")
        self.query_one("#shots", Label).update(f"{shots} of {total}")

    def action_shots(self, delta: int) -> None:
        if self.composition is not None:
            self.composition.set_shots(self.composition.shots + delta)
            self.refresh_demos()
            self.post_message(self.Changed())

    @on(Button.Pressed, "#fewer")
    def _fewer(self) -> None:
        self.action_shots(-1)

    @on(Button.Pressed, "#more")
    def _more(self) -> None:
        self.action_shots(1)

    @on(SelectionList.SelectionToggled, "#demos")
    def _toggled(self, event: SelectionList.SelectionToggled) -> None:
        if self.composition is not None:
            self.composition.toggle(event.selection.value)
            self.refresh_demos(keep=event.selection.value)
            self.post_message(self.Changed())

    @on(DemoList.Moved)
    def _moved(self, event: DemoList.Moved) -> None:
        if self.composition is not None:
            self.composition.move(event.example, event.delta)
            self.refresh_demos(keep=event.example)
            self.post_message(self.Changed())

    @on(TextArea.Changed, "#instruction")
    def _instruction(self, event: TextArea.Changed) -> None:
        if self.composition is not None:
            self.composition.instruction = event.text_area.text
            self.post_message(self.Changed())

    @on(Input.Changed, ".field")
    def _field(self, event: Input.Changed) -> None:
        comp = self.composition
        if comp is None or event.input.id is None:
            return
        kind, _, name = event.input.id.partition("-")
        (comp.query if kind == "q" else comp.variables)[name] = event.value
        self.post_message(self.Changed())
