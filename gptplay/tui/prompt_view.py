"""The prompt tab: the exact text the model receives, optionally split into its tokens."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from gptplay.engine.base import Engine
from gptplay.errors import GptplayError
from gptplay.render import plural

# Two alternating backgrounds: adjacent tokens stay distinguishable without any separator.
TOKEN_STYLES = ("on #2a3550", "on #4a3050")


def token_text(pieces: list[tuple[int, str]]) -> Text:
    """Each token's text on an alternating background; a newline token shows as ↵."""
    text = Text()
    for n, (_, piece) in enumerate(pieces):
        shown = piece.replace("\n", "↵\n")
        text.append(shown, style=TOKEN_STYLES[n % 2])
    return text


class PromptView(Vertical):
    """What the model receives, and how many tokens of the context it takes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.show_tokens = False
        self.text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="prompt-info")
        with VerticalScroll(id="prompt-scroll"):
            yield Static("", id="prompt-text")

    def toggle_tokens(self, engine: Engine | None) -> None:
        self.show_tokens = not self.show_tokens
        self.refresh_prompt(engine)

    def refresh_prompt(self, engine: Engine | None) -> None:
        """Recompose from the app's composition and redraw."""
        composition = getattr(self.app, "composition", None)
        info = self.query_one("#prompt-info", Static)
        body = self.query_one("#prompt-text", Static)
        if composition is None:
            info.update("no prompt")
            return
        try:
            composed = composition.compose()
        except GptplayError as exc:
            info.update(Text(f"✗ {exc}", style="red"))
            return
        self.text = composed.text
        head = Text(f"{composed.spec.name} · {composed.shots} demonstration(s)", style="bold")
        if composed.left_out:
            head.append(f" · {composed.left_out} equal to the query left out", style="yellow")
        if engine is None:
            head.append(" · token count once the model is loaded", style="dim")
            body.update(Text(composed.text))
            info.update(head)
            return
        pieces = engine.pieces(composed.text)
        head.append(f" · {plural(len(pieces), 'token')} of {engine.n_ctx}", style="dim")
        head.append(
            " · Ctrl+T hides token boundaries" if self.show_tokens else " · Ctrl+T shows tokens",
            style="dim",
        )
        info.update(head)
        if self.show_tokens:
            shown = [(p.id, p.text) for p in pieces]
            body.update(token_text(shown))
        else:
            body.update(Text(composed.text))
