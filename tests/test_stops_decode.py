"""Stop sequences across token boundaries and incremental UTF-8, on hand-made events."""

from gptplay.engine.decode import Utf8Stream
from gptplay.engine.stops import StopMatcher
from gptplay.engine.types import TokenEvent


def events(*texts: str) -> list[TokenEvent]:
    return [TokenEvent(i, t.encode(), t) for i, t in enumerate(texts)]


def run(matcher: StopMatcher, evs: list[TokenEvent]) -> str:
    out = []
    for e in evs:
        out += matcher.feed(e)
        if matcher.stopped:
            break
    else:
        out += matcher.flush()
    return "".join(e.text for e in out)


def test_stop_split_across_three_tokens():
    m = StopMatcher(("\n\nQ:",))
    assert run(m, events("The answer", " is 4.", "\n", "\nQ", ": next")) == "The answer is 4."
    assert m.stopped


def test_stop_inside_one_token_cuts_that_token():
    m = StopMatcher(("END",))
    assert run(m, events("abc", "xyENDzz", "more")) == "abcxy"


def test_false_start_is_released():
    m = StopMatcher(("\n\n",))
    out = m.feed(events("a\n")[0])
    assert out == []  # held back: could begin "\n\n"
    out = m.feed(TokenEvent(1, b"b", "b"))
    assert "".join(e.text for e in out) == "a\nb"
    assert not m.stopped


def test_no_stops_passes_through():
    m = StopMatcher(())
    assert run(m, events("x", "y")) == "xy"


def test_earliest_of_several_stops_wins():
    m = StopMatcher(("zz", "b"))
    assert run(m, events("aab", "zz")) == "aa"


def test_utf8_split_character_waits_for_its_last_byte():
    data = "猫🐱".encode()
    dec = Utf8Stream()
    texts = [dec.feed(data[i : i + 1]) for i in range(len(data))]
    assert "".join(texts) == "猫🐱"
    assert texts[:2] == ["", ""] and texts[2] == "猫"
    assert dec.finish() == ""


def test_utf8_unfinished_character_at_end_becomes_replacement():
    dec = Utf8Stream()
    assert dec.feed("é".encode()[:1]) == ""
    assert dec.finish() == "\ufffd"
