"""The parameters panel: model, samplers, max tokens, seed and stop sequences."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label

from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError
from gptplay.settings import BY_NAME, Layer, Resolved, SettingError, names_for, parse_text, resolve
from gptplay.settings.check import join_list, unescape
from gptplay.settings.schema import SAMPLING, SESSION

# One field per sampling setting of the table but stop, which has a field of its own.
FIELDS: tuple[str, ...] = tuple(n for n in names_for(SESSION, SAMPLING) if n != "stop")
# What each field says when it is empty (the constraints: how to fill them in).
# Narrow: the full help is the field's tooltip. Empty (or 'none') is no constraint.
PLACEHOLDERS = {
    "grammar": "GBNF or .gbnf",
    "json_schema": "JSON or .json",
    "choices": "A,B,C",
    "logit_bias": "TOKEN=BIAS,..",
}


def _shown(value: object) -> str:
    """A field's text: '' for None, floats without a trailing '.0' (0.8, 1, 0.05), lists
    comma-joined, a grammar or a schema on one line (a grammar of several lines summed up:
    its full text is the field's tooltip)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return join_list(value)
    if isinstance(value, str):
        lines = value.strip().splitlines()
        if len(lines) > 1 and "::=" in value:
            return f"({len(lines)}-line grammar: type a .gbnf path or one line to replace it)"
        return " ".join(lines)  # JSON's newlines are only spaces between its tokens
    text = repr(value) if isinstance(value, float) else str(value)
    return text[:-2] if text.endswith(".0") else text


def split_stops(text: str) -> tuple[str, ...]:
    """Stop sequences separated by commas; \\n \\t mean newline and tab, \\, a comma."""
    parts = [p.replace("\0", ",") for p in text.replace("\\,", "\0").split(",")]
    return tuple(unescape(p) for p in parts if p != "")


def join_stops(stops: tuple[str, ...]) -> str:
    """The text that split_stops reads back as these stop sequences."""
    return ",".join(
        s.replace("\\", "\\\\").replace(",", "\\,").replace("\n", "\\n").replace("\t", "\\t")
        for s in stops
    )


class ParamsPanel(VerticalScroll):
    """Labelled inputs; ``params()`` reads them into validated SamplingParams."""

    filled: Resolved | None = None  # the settings last shown, before the user's edits

    class ModelRequested(Message):
        """The user typed a model name and pressed Enter (None: the configured model)."""

        def __init__(self, model: str | None) -> None:
            super().__init__()
            self.model = model

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.shown: dict[str, str] = {}  # each field's text as fill() wrote it

    def compose(self) -> ComposeResult:
        with Horizontal(classes="prow"):
            yield Label("model", classes="pname")
            yield Input(id="p-model", placeholder="default", compact=True)
        for name in FIELDS:
            with Horizontal(classes="prow"):
                yield Label(BY_NAME[name].field_label, classes="pname")
                placeholder = PLACEHOLDERS.get(name, "random" if BY_NAME[name].optional else "")
                field = Input(id=f"p-{name}", placeholder=placeholder, compact=True)
                if name in PLACEHOLDERS:
                    field.tooltip = BY_NAME[name].help
                yield field
        with Horizontal(classes="prow"):
            yield Label("stop", classes="pname")
            stop = Input(id="p-stop", placeholder="none", compact=True)
            stop.tooltip = "stop sequences, comma-separated: \\n is a newline, \\, a comma"
            yield stop

    def on_mount(self) -> None:
        self.border_title = "Parameters"
        self.fill(resolve(()))

    def fill(self, settings: Resolved) -> None:
        """Show resolved settings (default < config < the prompt's [params] < flags)."""
        self.filled = settings
        self.shown = {}
        for name in FIELDS:
            value = settings[name]
            field = self.query_one(f"#p-{name}", Input)
            field.value = self.shown[name] = _shown(value)
            if name in PLACEHOLDERS:
                field.tooltip = str(value) if value not in (None, ()) else BY_NAME[name].help
        self.query_one("#p-stop", Input).value = join_stops(settings["stop"])

    def set_model(self, name: str | None, shown: str) -> None:
        """The name as asked for (so Enter reloads nothing), and the model's own name."""
        field = self.query_one("#p-model", Input)
        field.value = name or ""
        field.tooltip = shown
        self.border_subtitle = shown

    def values(self) -> dict[str, object]:
        """The fields as typed, each checked by the settings table (a UsageError names it).

        A field left as fill() showed it keeps the filled value (a grammar's summary line
        is not a grammar).
        """
        out: dict[str, object] = {}
        base = self.filled or resolve(())
        for name in FIELDS:
            raw = self.query_one(f"#p-{name}", Input).value
            if raw == self.shown.get(name):
                out[name] = base[name]
                continue
            try:
                out[name] = parse_text(name, raw)
            except SettingError as exc:
                if exc.problem is not None:
                    raise UsageError(exc.describe(BY_NAME[name].field_label)) from None
                label = BY_NAME[name].field_label
                if exc.out_of_range:
                    message = f"{label}: {raw.strip()} is out of range: {exc.reason}."
                    raise UsageError(message) from None
                raise UsageError(f"{label}: '{raw.strip()}' is not {exc.reason}.") from None
        return out

    def edits(self) -> Layer:
        """What the user changed from the filled settings: the TUI's own layer."""
        typed = {**self.values(), "stop": split_stops(self.query_one("#p-stop", Input).value)}
        base = self.filled or resolve(())
        changed = {k: v for k, v in typed.items() if base[k] != v}
        return Layer(SESSION, changed, "the TUI")

    def settings(self) -> Resolved:
        """Every setting as the run will use it, with where each came from."""
        base = self.filled or resolve(())
        return base.over(self.edits())

    def params(self) -> SamplingParams:
        """Validated sampling parameters (a UsageError names the bad field)."""
        return self.settings().sampling()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "p-model":
            event.stop()
            self.post_message(self.ModelRequested(event.value.strip() or None))
