"""What a user reads: rates, counts and hints that agree with each other and with the run."""

from __future__ import annotations

import pytest
from textual.widgets import Input
from tui_support import SIZE, fake_app, idle, ready, sync, wait_until

from gptplay.engine.fake import FakeEngine
from gptplay.engine.types import Completion
from gptplay.errors import UsageError


def completion(tokens: int, elapsed: float = 2.0, ttft: float = 0.5) -> Completion:
    return Completion(tokens, 5, "length", 1, "m", elapsed, ttft)


def test_a_one_token_run_has_no_rate_rather_than_zero():
    from gptplay.render import summary_line
    from gptplay.tui.status import status_text

    one = completion(1)
    assert "0.0 tok/s" not in str(status_text("done", one, 1, 5, 4096, 0))
    assert "– tok/s" in str(status_text("done", one, 1, 5, 4096, 0))
    assert "– tok/s" in str(summary_line(one))
    assert "2.0 tok/s" in str(summary_line(completion(4)))  # 3 tokens after the first in 1.5 s


def test_the_slow_warning_gives_the_rate_the_summary_gives():
    from gptplay.engine.threads import RateWatch

    watch = RateWatch(threads=2)
    watch._steps = [0.01] * 4 + [0.1] * 16  # a run held up by a busy core
    notice = watch.notice()
    tokens, span = len(watch._steps) + 1, sum(watch._steps)
    summary = completion(tokens, elapsed=0.5 + span, ttft=0.5)
    assert f"ran at {summary.tokens_per_s:.1f} tok/s" in notice, notice


def test_zero_shot_eval_reports_no_seeds():
    from gptplay.evaluate.run import EvalConfig, plan, seeds_text

    zero = EvalConfig(shots=(0,), seeds=5)
    assert len(plan(zero)) == 1 and "5 seeds" not in seeds_text(zero)
    assert seeds_text(EvalConfig(shots=(0, 1), seeds=5)) == "5 seeds (zero-shot runs once)"
    assert seeds_text(EvalConfig(shots=(2,), seeds=1)) == "1 seed"


def test_replay_counts_one_token_in_the_singular():
    from gptplay.cli.replay import _verdict

    result = {"identical": True, "recorded_tokens": 1, "max_logprob_delta": None}
    assert _verdict(result, [], []) == "identical: the token came out the same"
    result["recorded_tokens"] = 6
    assert _verdict(result, [], []) == "identical: all 6 tokens came out the same"


def test_a_repeated_model_points_at_samples():
    from gptplay.compare import parse_list

    with pytest.raises(UsageError) as caught:
        parse_list("--model", "default,default", str)
    assert "--samples N" in caught.value.hint
    with pytest.raises(UsageError) as caught:  # the TUI's axis field has no --samples
        parse_list("model", "default,default", str)
    assert "--samples" not in caught.value.hint


def test_the_help_screen_names_the_branch_keys():
    from gptplay.tui.screens import HELP
    from gptplay.tui.token_view import TokenView

    take = [b for b in TokenView.BINDINGS if b.action.startswith("take(")]
    assert [b.key for b in take] == [str(n) for n in range(1, 10)]
    assert any(keys.startswith("1–9") for keys, _ in HELP)


@sync
async def test_ctrl_o_selects_a_token_and_the_inspector_shows_it():
    from gptplay.tui.inspector import Inspector
    from gptplay.tui.token_view import TokenView

    engine = FakeEngine()
    engine.enqueue([" la", " mer"])
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one("#q-english", Input).value = "sea"
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        await pilot.press("ctrl+o")
        view = app.query_one("#output", TokenView)
        await wait_until(pilot, lambda: app.query_one(Inspector).index == 0)
        assert app.focused is view and view.cursor == 0
        await pilot.press("2")  # the key the help names: take alternative 2 there
        await wait_until(pilot, lambda: app.transcript.depth == 1)
