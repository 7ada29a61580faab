"""The probability shading: five bands that stay five in every colour system, and NO_COLOR."""

from __future__ import annotations

import io
import math

import pytest
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from rich.text import Text

from gptplay import render

LOGPROBS = [math.log(p) for p in (0.9, 0.6, 0.3, 0.1, 0.01)]  # one in each band


def shown(text: Text, **console) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=200, **console).print(text, end="")
    return out.getvalue()


def codes(system: str) -> list[str]:
    """The SGR parameters each band's background is drawn with in that colour system.

    (Computed as rich's Console does; one process's consoles share each style's cached
    escape codes, so printing through consoles of several systems would not show it.)
    """
    target = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT}.get(
        system, ColorSystem.STANDARD
    )
    out = []
    for lp in LOGPROBS:
        color = Style.parse(render.prob_style(lp)).bgcolor.downgrade(target)
        out.append(";".join(color.get_ansi_codes(foreground=False)))
    return out


@pytest.mark.parametrize("system", ["truecolor", "256", "standard"])
def test_five_bands_are_five_colours(system, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    drawn = codes(system)
    assert len(set(drawn)) == 5, drawn  # 256 colours drew 50–80% and 20–50% alike (48;5;58)


def test_the_16_colour_bands_run_green_cyan_yellow_red_magenta(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert codes("standard") == ["42", "46", "43", "41", "45"]


def test_under_no_color_attributes_stand_in_and_the_legend_says_which(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    styles = [render.prob_style(lp) for lp in LOGPROBS]
    drawn = [shown(Text("x", s), no_color=True) for s in styles]
    assert len(set(drawn)) == 5 and not any("48;" in d for d in drawn)
    legend = render.legend().plain
    assert legend.startswith("probability (NO_COLOR")
    for label, name in zip(render.LABELS, render.NO_COLOR_NAMES):
        assert f"{label} {name}" in legend
