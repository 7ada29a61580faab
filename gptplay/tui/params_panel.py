"""The parameters panel: model, samplers, max tokens, seed and stop sequences."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Label

from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError

# (field, label, parser); the label is what an error names.
FIELDS: tuple[tuple[str, str, type], ...] = (
    ("temperature", "temperature", float),
    ("top_k", "top-k", int),
    ("top_p", "top-p", float),
    ("min_p", "min-p", float),
    ("repeat_penalty", "repeat pen.", float),
    ("max_tokens", "max tokens", int),
    ("seed", "seed", int),
)


def split_stops(text: str) -> tuple[str, ...]:
    """Stop sequences separated by commas; \\n \\t mean newline and tab, \\, a comma."""
    from gptplay.engine.stops import unescape

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

    class ModelRequested(Message):
        """The user typed a model name and pressed Enter (None: the configured model)."""

        def __init__(self, model: str | None) -> None:
            super().__init__()
            self.model = model

    def compose(self) -> ComposeResult:
        with Horizontal(classes="prow"):
            yield Label("model", classes="pname")
            yield Input(id="p-model", placeholder="default", compact=True)
        for name, label, _ in FIELDS:
            with Horizontal(classes="prow"):
                yield Label(label, classes="pname")
                placeholder = "random" if name == "seed" else ""
                yield Input(id=f"p-{name}", placeholder=placeholder, compact=True)
        with Horizontal(classes="prow"):
            yield Label("stop", classes="pname")
            stop = Input(id="p-stop", placeholder="none", compact=True)
            stop.tooltip = "stop sequences, comma-separated: \\n is a newline, \\, a comma"
            yield stop

    def on_mount(self) -> None:
        self.border_title = "Parameters"
        self.fill({}, ())

    def fill(self, params: Mapping[str, int | float], stop: tuple[str, ...]) -> None:
        """Defaults overlaid with a prompt's [params] and stop sequences."""
        defaults = SamplingParams()
        for name, _, _ in FIELDS:
            value = params.get(name, getattr(defaults, name))
            self.query_one(f"#p-{name}", Input).value = "" if value is None else str(value)
        self.query_one("#p-stop", Input).value = join_stops(stop)

    def set_model(self, name: str | None, shown: str) -> None:
        """The name as asked for (so Enter reloads nothing), and the model's own name."""
        field = self.query_one("#p-model", Input)
        field.value = name or ""
        field.tooltip = shown
        self.border_subtitle = shown

    def values(self) -> dict[str, int | float | None]:
        """The numbers as typed; a UsageError names the field that is not a number."""
        out: dict[str, int | float | None] = {}
        for name, label, kind in FIELDS:
            raw = self.query_one(f"#p-{name}", Input).value.strip()
            if name == "seed" and raw == "":
                out[name] = None
                continue
            try:
                out[name] = kind(raw)
            except ValueError:
                want = "a whole number" if kind is int else "a number"
                raise UsageError(f"{label}: '{raw}' is not {want}.") from None
        return out

    def params(self) -> SamplingParams:
        """Validated sampling parameters (a UsageError names the bad field)."""
        stop = split_stops(self.query_one("#p-stop", Input).value)
        params = SamplingParams(**self.values(), stop=stop)
        params.validate()
        return params

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "p-model":
            event.stop()
            self.post_message(self.ModelRequested(event.value.strip() or None))
