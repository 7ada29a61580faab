"""Output constraints in the front ends on the real embedded model (issue 21): one path each
through the TUI, chat, compare, eval and the history's replay."""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input
from tui_support import SIZE, idle, ready, sync, wait_until

from gptplay.tui import create_app
from gptplay.tui.inspector import Inspector
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.token_view import TokenView
from tests.conftest import run_cli

pytestmark = pytest.mark.model

DIGITS = 'root ::= " "? [0-9]+'
REVIEW = (
    "Review: A dull, lifeless film.\nSentiment: negative\n\n"
    "Review: I loved every minute of it.\nSentiment:"
)


@sync
async def test_tui_choices_field_constrains_the_real_model_and_the_inspector_shows_both(engine):
    app = create_app(lambda model: engine, prompt="translate")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(ParamsPanel)
        panel.query_one("#p-temperature", Input).value = "0"
        panel.query_one("#p-choices", Input).value = "chat,fromage"
        await pilot.press(*"cheese", "ctrl+r")
        await wait_until(pilot, idle(app), timeout=180)
        view = app.query_one(TokenView)
        assert "".join(e.text for e in view.tokens).strip() in ("chat", "fromage")
        assert "grammar complete" in str(app.query_one("#status").render())
        first = view.tokens[0]
        assert first.constrained_logprob is not None
        assert first.constrained_logprob >= first.logprob  # renormalised over fewer tokens
        view.focus()
        await pilot.press("home")
        head = str(app.query_one(Inspector).get_option_at_index(0).prompt)
        assert "constrained p" in head
        assert any(a.allowed is False for a in first.top)  # the model wanted other tokens
        assert "ruled out" in head


def test_chat_choice_flag_answers_one_of_them_with_both_probabilities(user_dirs):
    result = run_cli(
        "chat", "--choice", "yes,no", "-t", "0", "--json", "--no-history",
        input="Is Paris in France? Answer yes or no.", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    tokens = [r for r in records if r["type"] == "token"]
    summary = records[-1]
    assert summary["text"].strip() in ("yes", "no")
    assert summary["grammar_complete"] is True
    assert all("constrained_logprob" in t for t in tokens if t["id"] >= 0)
    assert summary["settings"]["choices"] == ["yes", "no"]


def test_compare_with_and_without_choices_on_the_real_model(user_dirs):
    result = run_cli(
        "compare", "sentiment", "--input", "I loved every minute of it.", "--shots", "0",
        "-t", "0", "--choice", "none", "--choice", "positive,negative", "--json",
        "--no-history", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    variants = [json.loads(x) for x in result.stdout.splitlines()]
    variants = [v for v in variants if v["type"] == "variant"]
    assert [v["label"] for v in variants] == ["no choices", "choices positive,negative"]
    free, steered = variants
    assert steered["summary"]["text"].strip() in ("positive", "negative")
    assert all("constrained_logprob" not in t for t in free["tokens"])
    assert all("constrained_logprob" in t for t in steered["tokens"] if t["id"] >= 0)
    # the same prompt: the model's own probability of the first token is the same in both
    # where both took it; the constrained one is at least as high
    first = steered["tokens"][0]
    assert first["constrained_logprob"] >= first["logprob"] - 1e-6


def test_eval_generation_constrained_to_digits(user_dirs, tmp_path):
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", "arithmetic", "--generate", "2digit-add", "--limit", "3", "--shots", "0",
        "--seeds", "1", "--grammar", DIGITS, "--output", str(out), "--no-history",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "constrained by a grammar" in result.stderr
    record = json.loads(out.read_text())
    assert record["sampling"]["grammar"] == DIGITS
    for run in record["runs"]:
        for p in run["predictions"]:
            [s] = p["samples"]
            assert s["text"].strip().isdigit(), s["text"]
            assert all(t["constrained_logprob"] <= 0 for t in s["tokens"])


def test_a_constrained_run_is_recorded_shown_and_replayed_identically(user_dirs):
    first = run_cli(
        "complete", REVIEW, "--choice", "positive,negative", "-t", "0", "--logit-bias",
        " positive=-3", timeout=300,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    shown = run_cli("history", "show", "1", "--alts", "3")
    assert shown.returncode == 0, shown.stderr
    assert "constrained" in shown.stdout and "grammar: complete" in shown.stdout
    replay = run_cli("replay", "1", "--json", "--no-history", timeout=300)
    assert replay.returncode == 0, replay.stderr
    record = json.loads(replay.stdout)
    assert record["identical"] is True
    assert record["summary"]["grammar_complete"] is True
    lines = run_cli("history", "show", "1", "--json").stdout.splitlines()
    head, tokens = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert head["settings"]["choices"] == ["positive", "negative"]
    assert head["settings"]["logit_bias"] == [" positive=-3"]
    assert head["extra"]["grammar_complete"] is True
    assert all("constrained_logprob" in t for t in tokens if t["id"] >= 0)
    assert any(a.get("allowed") is False for t in tokens for a in t["top"])
