"""Every variant of a comparison recorded in the history, grouped; `--runs` reopens them."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gptplay.cli import app
from gptplay.cli.options import ENGINE_LOADER
from gptplay.engine.fake import FakeEngine
from gptplay.history import runs
from tests.conftest import run_cli

SHOTS = ("translate", "--shots", "0,1,3", "--input", "cheese", "-t", "0")


def invoke(engine: FakeEngine, *args: str):
    obj = {ENGINE_LOADER: engine.loader()}
    return CliRunner().invoke(app, ["compare", *args], env={"COLUMNS": "120"}, obj=obj)


def lines(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_each_variant_is_one_run_of_one_comparison_and_runs_reopens_it():
    engine = FakeEngine(n_ctx=4096)
    for reply in (["f", "romage"], ["fro", "mage"], ["f", "romage", "!"]):
        engine.enqueue(reply)
    ran = lines(invoke(engine, *SHOTS, "--json"))
    stored = runs.listing(runs.Filters(limit=10))
    assert [r.command for r in stored] == ["compare"] * 3
    groups = {r.extra["comparison"] for r in stored}
    assert len(groups) == 1
    assert sorted(r.extra["label"] for r in stored) == ["3-shot", "one-shot", "zero-shot"]
    # one id brings the whole comparison back, in the variants' order, without running
    one = stored[0].id
    again = lines(invoke(engine, "--runs", str(one), "--json"))
    assert [r["label"].split(" (")[0] for r in again[:-1]] == ["zero-shot", "one-shot", "3-shot"]
    assert [r["summary"]["text"] for r in again[:-1]] == [r["summary"]["text"] for r in ran[:-1]]
    assert again[-1]["position"] == ran[-1]["position"] == 0
    assert len(engine.prompts) == 3  # nothing ran again
    shown = invoke(engine, "--runs", str(one))
    assert "zero-shot (run" in shown.stdout and "Diverge at token 1" in shown.stdout


def test_runs_side_by_side_by_ids_and_no_history():
    engine = FakeEngine(n_ctx=4096)
    lines(invoke(engine, "translate", "-i", "x", "-t", "0,0.8", "--json", "--no-history"))
    assert runs.listing(runs.Filters(limit=10)) == []
    lines(invoke(engine, "translate", "-i", "x", "-t", "0,0.8", "--json"))
    ids = sorted(r.id for r in runs.listing(runs.Filters(limit=10)))
    picked = lines(invoke(engine, "--runs", ",".join(map(str, ids)), "--json"))
    assert len(picked) == 3 and picked[-1]["type"] == "divergence"


def test_runs_errors_are_one_line():
    engine = FakeEngine(n_ctx=4096)
    missing = invoke(engine, "--runs", "99")
    assert "there is no run 99" in missing.exception.message
    both = invoke(engine, "translate", "--runs", "1")
    assert "not both" in both.exception.message
    none = invoke(engine, "--layout", "rows")
    assert "name a prompt" in none.exception.message


def test_scored_variants_are_recorded_per_continuation():
    engine = FakeEngine(n_ctx=4096)
    lines(invoke(engine, *SHOTS, "--score", " fromage", "--score", " chat", "--json"))
    stored = runs.listing(runs.Filters(limit=10))
    assert len(stored) == 6 and {r.finish for r in stored} == {"scored"}
    assert sorted({r.extra["continuation"] for r in stored}) == [0, 1]
    reopened = invoke(engine, "--runs", str(stored[0].id))
    assert reopened.exit_code == 1
    assert "there is no output to show side by side" in reopened.exception.message


@pytest.mark.model
def test_a_real_comparison_is_listed_as_one_group_and_reopened_as_it_ran(model_path):
    ran = run_cli("compare", "translate", "--shots", "0,1", "--input", "cheese", "-t", "0",
                  "-n", "8", "--json")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    *variants, div = [json.loads(line) for line in ran.stdout.splitlines()]
    listed = run_cli("history")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if " compare " in line]
    assert len(rows) == 2 and any("zero-shot" in r for r in rows), listed.stdout
    assert any("one-shot" in r for r in rows) and len({r.split()[4] for r in rows}) == 1
    first = min(r.id for r in runs.listing(runs.Filters(limit=10)))
    again = run_cli("compare", "--runs", str(first), "--json")
    assert again.returncode == 0, again.stderr
    *shown, div_again = [json.loads(line) for line in again.stdout.splitlines()]
    assert [v["summary"]["text"] for v in shown] == [v["summary"]["text"] for v in variants]
    assert [len(v["tokens"]) for v in shown] == [len(v["tokens"]) for v in variants]
    assert div_again["position"] == div["position"]
