"""The output: tokens shaded by probability, wrapped into lines that grow as tokens arrive.

A line-API widget: appending a token re-wraps only the last line and refreshes only the
lines it touched, so streaming costs the same at token 500 as at token 5.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gptplay.engine.types import TokenEvent
from gptplay.render import prob_style

CURSOR = Style(reverse=True, bold=True)
NEWLINE_MARK = "↵"


@dataclass
class Fragment:
    """A piece of one token's text on one line (a token may span lines)."""

    token: int
    text: str
    width: int


class TokenView(ScrollView, can_focus=True):
    """Generated tokens, each shaded by its probability; a cursor moves over them."""

    BINDINGS = [
        Binding("left", "move(-1)", "Prev token", show=False),
        Binding("right", "move(1)", "Next token", show=False),
        Binding("up", "line(-1)", "Line up", show=False),
        Binding("down", "line(1)", "Line down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        # Ctrl+B is tmux's prefix key, so going back also has a key of its own here
        Binding("backspace", "app.back", "Back branch", show=False),
        *(Binding(str(n), f"take({n})", f"Take alternative {n}", show=False) for n in range(1, 10)),
    ]

    DEFAULT_CSS = """
    TokenView { overflow-x: hidden; }
    """

    class Selected(Message):
        """The cursor moved to a token."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    class Take(Message):
        """A digit was pressed: branch on alternative ``rank`` (1-based) of the cursor token."""

        def __init__(self, index: int, rank: int) -> None:
            super().__init__()
            self.index = index
            self.rank = rank

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tokens: list[TokenEvent] = []
        self.cursor: int | None = None
        self._lines: list[list[Fragment]] = [[]]
        self._line_width: list[int] = [0]
        self._wrap = 0  # the width lines were wrapped at
        self._styles: dict[str, Style] = {}

    # ---- content ----------------------------------------------------------------

    def clear(self) -> None:
        self.tokens = []
        self.cursor = None
        self._rewrap()
        self.refresh()

    def set_tokens(self, tokens: list[TokenEvent]) -> None:
        """Replace the whole content (after a branch or going back)."""
        self.tokens = list(tokens)
        if self.cursor is not None and self.cursor >= len(self.tokens):
            self.cursor = len(self.tokens) - 1 if self.tokens else None
        self._rewrap()
        self.refresh()

    def append(self, new: list[TokenEvent]) -> None:
        """Add tokens at the end; only the lines they land on are refreshed."""
        if not new:
            return
        follow = self.scroll_offset.y >= self.max_scroll_y
        first_line = len(self._lines) - 1
        for event in new:
            self.tokens.append(event)
            self._place(len(self.tokens) - 1, event)
        self._grow(Size(self._wrap, len(self._lines)))
        self.refresh_lines(first_line, len(self._lines) - first_line)
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _grow(self, size: Size) -> None:
        """Take a larger virtual size without a layout pass of the whole screen.

        Assigning ``virtual_size`` re-lays every widget on the screen (about 50 ms here,
        once per new line while streaming, stolen from llama.cpp's threads). The view's own
        region does not change unless its scrollbar appears, so only then is a layout due.
        """
        if size == self.virtual_size:
            return
        height = self.scrollable_content_region.height
        if self.show_vertical_scrollbar or size.height <= height:
            self.set_reactive(TokenView.virtual_size, size)
            self._scroll_update(size)  # Textual's own path for a size change without layout
        else:
            self.virtual_size = size  # the scrollbar appears: the region changes

    # ---- wrapping ---------------------------------------------------------------

    def _width(self) -> int:
        return max(self.scrollable_content_region.width, 8)

    def _rewrap(self) -> None:
        self._wrap = self._width()
        self._lines, self._line_width = [[]], [0]
        for i, event in enumerate(self.tokens):
            self._place(i, event)
        self.virtual_size = Size(self._wrap, len(self._lines))

    def _place(self, index: int, event: TokenEvent) -> None:
        """Lay one token's text onto the lines, moving it down whole when it fits on a line."""
        parts = event.text.split("\n")
        for n, part in enumerate(parts):
            if n > 0:  # a newline: mark it so the token stays visible and selectable
                self._add(index, NEWLINE_MARK, 1)
                self._lines.append([])
                self._line_width.append(0)
            width = cell_len(part)
            if not part:
                continue
            room = self._wrap - self._line_width[-1]
            if width > room and width <= self._wrap and self._line_width[-1]:
                self._lines.append([])
                self._line_width.append(0)
                part = part.lstrip(" ") or part
                width = cell_len(part)
            while width > self._wrap - self._line_width[-1]:
                room = self._wrap - self._line_width[-1]
                head = _cut(part, room)
                self._add(index, head, cell_len(head))
                part = part[len(head) :]
                width = cell_len(part)
                self._lines.append([])
                self._line_width.append(0)
            if part:
                self._add(index, part, width)
        if not event.text and event.id >= 0:  # a token that ends inside a character
            self._add(index, "", 0)

    def _add(self, index: int, text: str, width: int) -> None:
        self._lines[-1].append(Fragment(index, text, width))
        self._line_width[-1] += width

    def on_resize(self, event: events.Resize) -> None:
        if self._width() != self._wrap:
            self._rewrap()
            self.refresh()

    # ---- drawing ----------------------------------------------------------------

    def _style(self, index: int) -> Style:
        event = self.tokens[index]
        key = prob_style(event.logprob)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style.parse(key) if key else Style()
        return style + CURSOR if index == self.cursor else style

    def render_line(self, y: int) -> Strip:
        row = y + int(self.scroll_offset.y)
        if row >= len(self._lines):
            return Strip.blank(self.size.width, self.rich_style)
        base = self.rich_style
        segments = [
            Segment(f.text, base + self._style(f.token))
            for f in self._lines[row]
            if f.text or f.token == self.cursor
        ]
        strip = Strip(segments)
        return strip.extend_cell_length(self.size.width, base)

    # ---- cursor -----------------------------------------------------------------

    def select(self, index: int | None) -> None:
        if index is not None and not self.tokens:
            index = None
        if index is not None:
            index = max(0, min(index, len(self.tokens) - 1))
        old, self.cursor = self.cursor, index
        for i in {old, index} - {None}:
            self._refresh_token(i)
        if index is not None:
            line = self._line_of(index)
            if line is not None:
                region = Region(0, line, self._wrap, 1)
                self.scroll_to_region(region, animate=False, immediate=True)
            self.post_message(self.Selected(index))

    def _line_of(self, index: int) -> int | None:
        for n, line in enumerate(self._lines):
            if line and line[0].token <= index <= line[-1].token:
                return n
        return None

    def _refresh_token(self, index: int) -> None:
        line = self._line_of(index)
        if line is not None:
            self.refresh_lines(line, 2)

    def on_focus(self) -> None:
        """Entering the output (Ctrl+O, Tab) selects a token: the inspector shows it at once."""
        self.select(0 if self.cursor is None else self.cursor)

    def action_move(self, delta: int) -> None:
        if self.cursor is None:
            self.select(len(self.tokens) - 1 if delta < 0 else 0)
        else:
            self.select(self.cursor + delta)

    def action_take(self, rank: int) -> None:
        if self.cursor is not None:
            self.post_message(self.Take(self.cursor, rank))

    def action_jump(self, where: int) -> None:
        self.select(where if where >= 0 else len(self.tokens) - 1)

    def action_line(self, delta: int) -> None:
        if self.cursor is None:
            self.action_move(delta)
            return
        line = self._line_of(self.cursor)
        target = (line or 0) + delta
        if 0 <= target < len(self._lines) and self._lines[target]:
            x = self._x_of(line or 0, self.cursor)
            self.select(self._token_at(target, x))

    def _x_of(self, line: int, index: int) -> int:
        x = 0
        for f in self._lines[line]:
            if f.token == index:
                return x
            x += f.width
        return x

    def _token_at(self, line: int, x: int) -> int | None:
        """The token under column x of a line (the last one when x is past the end)."""
        fragments = self._lines[line]
        if not fragments:
            return None
        pos = 0
        for f in fragments:
            if pos <= x < pos + max(f.width, 1):
                return f.token
            pos += f.width
        return fragments[-1].token

    def on_click(self, event: events.Click) -> None:
        row = event.y + int(self.scroll_offset.y)
        if 0 <= row < len(self._lines):
            index = self._token_at(row, event.x)
            if index is not None:
                self.focus()
                self.select(index)


def _cut(text: str, cells: int) -> str:
    """The longest prefix of text that fits in ``cells`` (at least one character)."""
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > cells and out:
            break
        out.append(ch)
        used += w
    return "".join(out)
