"""The library panel: every prompt (built-in and user), filtered as you type."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from gptplay.library import PromptEntry


class LibraryPanel(Vertical):
    """A filter box over the prompt list; choosing a prompt posts ``Chosen``."""

    class Chosen(Message):
        def __init__(self, entry: PromptEntry) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, entries: list[PromptEntry], **kwargs) -> None:
        super().__init__(**kwargs)
        self.entries = entries

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter prompts", id="filter")
        yield OptionList(id="prompts")

    def on_mount(self) -> None:
        self.border_title = "Library"
        self.refill("")

    def set_entries(self, entries: list[PromptEntry]) -> None:
        self.entries = entries
        self.refill(self.query_one("#filter", Input).value)

    def refill(self, needle: str) -> None:
        """Show the prompts whose name contains every word of the filter."""
        words = needle.lower().split()
        options = self.query_one("#prompts", OptionList)
        options.clear_options()
        for entry in self.entries:
            if all(w in entry.name.lower() or w in entry.origin for w in words):
                label = Text(entry.name)
                if entry.origin != "built-in":
                    label.append(" (user)", style="dim")
                options.add_option(Option(label, id=entry.name))

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self.refill(event.value)

    @on(Input.Submitted, "#filter")
    def _first(self, event: Input.Submitted) -> None:
        """Enter in the filter opens the first match (the list keeps it highlighted)."""
        options = self.query_one("#prompts", OptionList)
        if options.option_count:
            options.highlighted = 0
            first = options.get_option_at_index(0)
            self.post_message(self.Chosen(next(e for e in self.entries if e.name == first.id)))

    @on(OptionList.OptionSelected, "#prompts")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        entry = next(e for e in self.entries if e.name == event.option.id)
        self.post_message(self.Chosen(entry))
