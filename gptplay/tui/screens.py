"""Modal screens: help, unsaved-changes confirmation, a name for a new prompt."""

from __future__ import annotations

from rich.table import Table
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

HELP = (
    ("F1 or ?", "this help"),
    ("Ctrl+R or F5", "run: generate from the composed prompt"),
    ("Ctrl+G", "continue: generate more after the current output"),
    ("Escape", "stop the generation (what was generated is kept, marked interrupted)"),
    ("F2 / F3 / F4 / F6", "Playground / Prompt / Edit / Chat tab"),
    ("F7", "History tab: type to filter past runs; Enter reopens one, or resumes a chat"),
    ("F8", "Compare tab: Ctrl+R runs the variants; Enter on a column sends it to the Playground"),
    ("Ctrl+L", "the library filter"),
    ("Ctrl+E", "the query (focused when a prompt is opened)"),
    ("Ctrl+O", "the output (move over tokens with ←/→/↑/↓, Home, End, or click one)"),
    ("Enter on an alternative", "branch: cut the text there, take it, and continue"),
    ("1–9 (output)", "branch at the selected token with its alternative N"),
    ("Ctrl+B or Backspace (output)", "back to the branch this one was cut from"),
    ("Space (demonstrations)", "include or exclude a demonstration"),
    ("Ctrl+↑ / Ctrl+↓", "move a demonstration up or down"),
    ("Alt+← / Alt+→", "fewer / more shots (zero-, one-, few-shot)"),
    ("Ctrl+S", "Edit tab: save the TOML; elsewhere: save the composition as a new prompt"),
    ("Ctrl+T", "Prompt tab: show or hide token boundaries"),
    ("Tab / Shift+Tab", "move between fields; the mouse works everywhere"),
    ("Chat: Enter", "send the message or a /command (/help lists them); Ctrl+R: /retry"),
    ("Chat: Ctrl+O", "into the last reply: ←/→ show each token's alternatives"),
    ("F9", "Python and curl code for this prompt and settings"),
    ("Ctrl+Q", "quit (asks first when an edit is unsaved)"),
)


class HelpScreen(ModalScreen[None]):
    """Every key binding, in one table."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(
            title="gptplay tui · keys", show_header=False, box=None, padding=(0, 2), expand=True
        )
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for keys, what in HELP:
            table.add_row(keys, what)
        with Vertical(id="help-box", classes="modal"):
            yield Static(table)
            yield Label("Escape closes", classes="dim")


class CodeScreen(ModalScreen[None]):
    """F9: the code that reproduces the Playground's prompt and settings."""

    BINDINGS = [Binding("escape,f9,q", "dismiss", "Close")]

    def __init__(self, python: str, curl: str) -> None:
        super().__init__()
        self.python, self.curl = python, curl

    def compose(self) -> ComposeResult:
        from rich.syntax import Syntax
        from textual.containers import VerticalScroll

        with Vertical(id="code-box", classes="modal"):
            with VerticalScroll(id="code-scroll"):
                yield Static(Syntax(self.python, "python", word_wrap=True), id="code-python")
                yield Static(Syntax(self.curl, "bash", word_wrap=True), id="code-curl")
            yield Label("the same as --print-code / --print-curl · Escape closes", classes="dim")


class ConfirmScreen(ModalScreen[str]):
    """Unsaved changes: save, discard, or cancel (returns 'save', 'discard' or 'cancel').

    Cancel is the default: an Enter pressed out of habit changes no file.
    """

    BINDINGS = [Binding("escape", "dismiss('cancel')", "Cancel")]
    AUTO_FOCUS = "#cancel"

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal"):
            yield Label(self.message, markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Save", id="save")
                yield Button("Discard", id="discard", variant="error")
                yield Button("Cancel", id="cancel", variant="primary")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or "cancel")


class NameScreen(ModalScreen[str | None]):
    """Ask a name for the composition saved as a new prompt (None when cancelled)."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, suggestion: str) -> None:
        super().__init__()
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal"):
            yield Label("Save the composition as a new prompt named:")
            yield Input(value=self.suggestion, id="name")
            yield Label("Enter saves · Escape cancels", classes="dim")

    @on(Input.Submitted, "#name")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)
