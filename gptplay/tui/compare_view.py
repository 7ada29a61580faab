"""One column of the Compare tab: a TokenView that also marks the divergence point and
echoes the cursor of another column, and tells the pane when it scrolls or Enter is pressed."""

from __future__ import annotations

from rich.style import Style
from textual.binding import Binding
from textual.message import Message

from gptplay import compare
from gptplay.render import rate
from gptplay.tui.token_view import TokenView

ECHO = Style(underline=True, bold=True)  # the same position as the cursor in another column
DIVERGE = Style(underline=True, color="magenta", bold=True)


def subtitle(r: compare.VariantResult) -> str:
    """A column's figures, short enough for its bottom border."""
    c = r.completion
    lp = "–" if r.mean_logprob is None else f"{r.mean_logprob:.2f}"
    ppl = "–" if r.perplexity is None else f"{r.perplexity:.2f}"
    return f"lp {lp} · ppl {ppl} · {c.tokens} tok · {c.finish_reason} · {rate(c, 0)}"


class CompareView(TokenView):
    """A column's tokens: also marks the divergence and echoes another column's cursor."""

    BINDINGS = [Binding("enter", "use", "To the Playground", show=False)]

    class Scrolled(Message):
        def __init__(self, view: CompareView, y: float) -> None:
            super().__init__()
            self.view, self.y = view, y

    class Use(Message):
        def __init__(self, view: CompareView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, column: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.column = column
        self.echo: int | None = None
        self.diverge: int | None = None

    def _style(self, index: int) -> Style:
        style = super()._style(index)
        if index == self.diverge:
            style += DIVERGE
        if index == self.echo and index != self.cursor:
            style += ECHO
        return style

    def mark(self, echo: int | None = None, diverge: int | None = None) -> None:
        self.echo, self.diverge = echo, diverge
        self.refresh()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.post_message(self.Scrolled(self, new))

    def action_use(self) -> None:
        self.post_message(self.Use(self))
