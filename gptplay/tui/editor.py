"""The edit tab: a prompt's TOML, validated as you type, saved atomically to the user library."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static, TextArea

from gptplay.fileio import atomic_write
from gptplay.library import Library, PromptError, PromptSpec, check

VALIDATE_DELAY_S = 0.15  # re-check after a pause in typing, not on every key


class EditPane(Vertical):
    """The TOML of the selected prompt; Ctrl+S saves it (a built-in saves the user's copy)."""

    class Saved(Message):
        def __init__(self, name: str, path: Path) -> None:
            super().__init__()
            self.name = name
            self.path = path

    def __init__(self, library: Library, **kwargs) -> None:
        super().__init__(**kwargs)
        self.library = library
        self.name_: str | None = None
        self.builtin = False
        self.source: Path | None = None
        self.saved_text = ""
        self.errors: list[PromptError] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="edit-where")
        # Tab leaves the editor, as everywhere else in the app (TOML needs no indentation)
        yield TextArea.code_editor(
            "", language="toml", id="toml", soft_wrap=True, tab_behavior="focus"
        )
        yield Static("", id="edit-check")

    @property
    def area(self) -> TextArea:
        return self.query_one("#toml", TextArea)

    @property
    def dirty(self) -> bool:
        return self.name_ is not None and self.area.text != self.saved_text

    def load(self, spec: PromptSpec, text: str) -> None:
        """Show a prompt's file text; the previous one must have been saved or discarded."""
        self.name_, self.builtin, self.source = spec.name, spec.builtin, spec.source
        self.saved_text = text
        area = self.area
        area.load_text(text)
        self._where()
        self.validate()

    @property
    def target(self) -> Path:
        """A user prompt is saved where it is; a built-in, as the user's copy."""
        assert self.name_ is not None
        if self.builtin or self.source is None:
            return self.library.user_path(self.name_)
        return self.source

    def _where(self) -> None:
        if self.name_ is None:
            return
        target = self.target
        text = Text(f"{self.name_}", style="bold")
        if self.builtin:
            text.append(f"  built-in · Ctrl+S saves your copy to {target}", style="dim")
        else:
            text.append(f"  {target} · Ctrl+S saves", style="dim")
        if self.dirty:
            text.append("  ● unsaved", style="yellow")
        self.query_one("#edit-where", Static).update(text)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(VALIDATE_DELAY_S, self.validate)
        self._where()

    def validate(self) -> PromptSpec | None:
        """Check the text now; show the first problem and its line, or that it is valid."""
        if self.name_ is None:
            return None
        spec, self.errors = check(self.area.text, f"{self.name_}.toml", self.name_)
        box = self.query_one("#edit-check", Static)
        if self.errors:
            first = self.errors[0]
            more = f" (+{len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            msg = Text(f"✗ line {first.line or 1}: {first.problem}{more}", style="bold red")
            if first.hint:
                msg.append(f"\n  hint: {first.hint}", style="dim")
            box.update(msg)
        else:
            box.update(Text("✓ valid", style="green"))
        self._where()
        return spec

    def save(self) -> Path:
        """Write the text as it is (comments kept) to the user library; PromptError if invalid."""
        if self.name_ is None:
            raise PromptError("no prompt is open in the editor.")
        spec = self.validate()
        if spec is None:
            first = self.errors[0]
            raise PromptError(
                f"not saved: line {first.line or 1}: {first.problem}", hint="fix it, then save."
            )
        path = self.target
        atomic_write(path, self.area.text)
        self.saved_text = self.area.text
        self.builtin, self.source = False, path
        self._where()
        self.post_message(self.Saved(self.name_, path))
        return path
