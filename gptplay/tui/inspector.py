"""The inspector: the selected token's probability and its top alternatives as bars."""

from __future__ import annotations

import math

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from gptplay.engine.types import Alternative, TokenEvent
from gptplay.render import pct, prob_style, visible

BAR = 10


def bar(prob: float, width: int = BAR) -> str:
    """A horizontal bar of eighths, so small differences still show."""
    eighths = round(max(0.0, min(prob, 1.0)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (" ▏▎▍▌▋▊▉"[part] if part else "")).ljust(width)


ROW = 25  # an alternative's row without its bar: rank, marker, piece, probability


def alt_line(alt: Alternative, chosen: bool, width: int = BAR) -> Text:
    """One alternative: a marker for the chosen one, its piece, a bar and its probability;
    struck out with ✗ where a grammar or a ban ruled it out."""
    text = Text("▶ " if chosen else "  ", style="bold")
    refused = alt.allowed is False
    piece = f"{visible(alt.text)[:12]:<12} "
    text.append(piece, style="strike dim" if refused else prob_style(alt.logprob))
    text.append(bar(alt.prob, width), style="dim" if refused else "cyan")
    text.append(f" {pct(alt.logprob):>6}")
    if refused:
        text.append(" ✗", style="dim")
    return text


def heading(event: TokenEvent, index: int, branching: bool = True) -> Text:
    """What the selected token is, how likely, and how much mass its alternatives hold."""
    text = Text(f"#{index + 1} ", style="dim")
    text.append(visible(event.bytes.decode("utf-8", "backslashreplace")), prob_style(event.logprob))
    if event.logprob is not None:
        text.append(f"  p {pct(event.logprob)}  lp {event.logprob:.3f}")
    if event.constrained_logprob is not None:
        text.append(f"\nconstrained p {pct(event.constrained_logprob)}", "bold")
        text.append("  (model's own p above)", "dim")
    mass = sum(math.exp(a.logprob) for a in event.top)
    if event.top:
        hint = " · 1-9/Enter: branch" if branching else ""
        text.append(f"\ntop {len(event.top)} hold {100 * mass:.1f}%{hint}", "dim")
    refused = sum(a.allowed is False for a in event.top)
    if refused:
        text.append(f"\n✗ {refused} ruled out by the grammar or a ban", "dim")
    return text


class Inspector(OptionList):
    """Alternatives of the selected token; choosing one branches the output there."""

    class Branch(Message):
        """The user chose an alternative for the token at ``index``."""

        def __init__(self, index: int, alt: Alternative) -> None:
            super().__init__()
            self.index = index
            self.alt = alt

    def __init__(self, *, branching: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.branching = branching  # the chat shows alternatives but does not branch
        self.index: int | None = None
        self.event: TokenEvent | None = None

    def show(self, index: int | None, event: TokenEvent | None) -> None:
        """Show one token (or a hint when none is selected)."""
        self.index, self.event = index, event
        self.clear_options()
        if index is None or event is None:
            self.border_title = "Inspector"
            self.add_option(Option(Text("select a token (←/→ or click)", "dim"), disabled=True))
            return
        self.border_title = "Inspector"
        self.add_option(Option(heading(event, index, self.branching), disabled=True))
        if not event.top:
            self.add_option(Option(Text("no probabilities for this token", "dim"), disabled=True))
            return
        # the bar gives up columns on a narrow inspector, so each row stays one line
        room = self.scrollable_content_region.width - ROW - 1
        width = max(2, min(BAR, room)) if room > -ROW else BAR
        for rank, alt in enumerate(event.top, start=1):
            line = Text(f"{rank:>2} ", style="dim") + alt_line(alt, alt.id == event.id, width)
            self.add_option(Option(line, id=f"alt-{alt.id}"))
        if event.id not in {a.id for a in event.top}:
            note = Text(f"sampled: {visible(event.text)} (outside the top {len(event.top)})")
            self.add_option(Option(note, disabled=True))
        self.highlighted = 1

    def on_resize(self) -> None:
        if self.event is not None:
            highlighted = self.highlighted
            self.show(self.index, self.event)
            self.highlighted = highlighted

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        message.stop()
        if self.event is None or self.index is None or message.option.id is None:
            return
        alt_id = int(message.option.id.removeprefix("alt-"))
        alt = next(a for a in self.event.top if a.id == alt_id)
        self.post_message(self.Branch(self.index, alt))
