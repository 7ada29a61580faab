"""The TUI's screen-free parts: branching transcript, composition, stop parsing, token wrapping."""

from __future__ import annotations

import math

import pytest
from tui_support import sync

from gptplay.engine.types import Alternative, TokenEvent
from gptplay.library import load_prompt
from gptplay.tui.composition import Composition, shots_label
from gptplay.tui.inspector import bar
from gptplay.tui.params_panel import join_stops, split_stops
from gptplay.tui.transcript import Transcript


def ev(i: int, data: bytes, text: str | None = None) -> TokenEvent:
    alts = (Alternative(i, data, math.log(0.6)), Alternative(900 + i, b"X", math.log(0.3)))
    return TokenEvent(i, data, data.decode() if text is None else text, math.log(0.6), alts)


def test_branch_cuts_takes_the_alternative_and_goes_back():
    t = Transcript()
    t.start([1, 2])
    t.append([ev(10, b"a"), ev(11, b"b"), ev(12, b"c")])
    ids = t.branch(1, Alternative(77, b"Z", -2.0))
    assert ids == [1, 2, 10, 77]
    assert t.current.text == "aZ" and t.current.events[1].logprob == -2.0
    assert t.current.events[1].top == t.history[0].events[1].top  # same position, same alts
    t.append([ev(13, b"d")])
    assert t.depth == 1 and t.current.text == "aZd"
    assert t.back() and t.current.text == "abc" and t.depth == 0
    assert not t.back()


def test_branch_completes_a_character_split_across_tokens():
    t = Transcript()
    t.start([1])
    euro = "€".encode()
    t.append([ev(10, euro[:1], ""), ev(11, euro[1:], "€")])
    t.branch(1, Alternative(50, euro[1:], -1.0))
    assert t.current.text == "€"


def test_composition_shots_toggle_and_order():
    spec = load_prompt("translate")
    comp = Composition.of(spec, 3)
    assert comp.shots == 3 and comp.compose().text.count("=>") == 4  # 3 demos + the query
    comp.set_shots(99)
    assert comp.shots == len(spec.examples)
    comp.set_shots(-1)
    assert comp.shots == 0 and shots_label(0) == "zero-shot" and shots_label(1) == "one-shot"
    comp.set_shots(2)
    comp.move(1, -1)
    assert comp.order[:2] == [1, 0]
    assert [d["english"] for d in comp.demonstrations()] == ["peppermint", "sea otter"]
    comp.toggle(0)
    assert [d["english"] for d in comp.demonstrations()] == ["peppermint"]
    comp.query["english"] = "cheese"
    comp.instruction = "French, please:"
    assert comp.compose().text == "French, please:\npeppermint => menthe poivrée\ncheese =>"
    saved = comp.as_spec("mine", {"temperature": 0.2})
    assert saved.name == "mine" and len(saved.examples) == 1 and saved.params["temperature"] == 0.2


@pytest.mark.parametrize("stops", [(), ("\n",), ("a,b", "\\n literal", "\t"), ("###", "\nUser:")])
def test_stop_sequences_round_trip(stops):
    assert split_stops(join_stops(stops)) == stops


def test_bar_grows_with_probability():
    assert bar(0.0).strip() == "" and bar(1.0, 10) == "█" * 10
    assert len(bar(0.55, 10)) == 10 and bar(0.55, 10).startswith("█████")


@sync
async def test_token_view_wraps_appends_and_maps_clicks_to_tokens():
    from textual.app import App

    from gptplay.tui.token_view import TokenView

    class Host(App):
        def compose(self):
            yield TokenView()

    app = Host()
    async with app.run_test(size=(20, 6)) as pilot:
        view = app.query_one(TokenView)
        words = [ev(i, f" word{i}".encode()) for i in range(6)]  # 6 cells each
        view.append(words[:3])  # " word0 word1 word2" is 18 cells: one line
        assert len(view._lines) == 1
        view.append(words[3:])  # the fourth moves down whole, without its leading space
        assert len(view._lines) == 2 and view._lines[1][0].text == "word3"
        view.append([ev(6, b"\n"), ev(7, b"end")])
        assert len(view._lines) == 3 and view._lines[1][-1].text == "↵"
        await pilot.click(TokenView, offset=(8, 1))  # "word4" on the second line
        assert view.cursor == 4
        await pilot.press("up")
        assert view.cursor == 0  # column 5 of the line above is inside " word0"
        await pilot.press("right", "down")
        assert view.cursor == 4  # " word1" starts at column 6, above "word4"
        await pilot.press("end")
        assert view.cursor == 7


def test_the_status_line_keeps_its_parts_apart_and_counts_one_token():
    from gptplay.tui.status import status_text

    line = str(status_text("back on the previous branch", None, 9, 5, 512, 0))
    assert line == " back on the previous branch · 9 tokens · context 14/512"
    assert str(status_text("loading the model…", None, 1, 0, None, 0)).endswith("… · 1 token")
