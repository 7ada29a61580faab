"""`gptplay compare` on the real embedded model: one comparison and one --score table."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from gptplay.cli import app
from gptplay.cli.options import ENGINE_LOADER
from gptplay.compare import Variant, divergence, generate
from gptplay.engine.kvcache import CHUNK
from gptplay.engine.types import SamplingParams
from tests.conftest import run_cli

pytestmark = pytest.mark.model

SHOTS = ("compare", "translate", "--shots", "0,1,3", "--input", "cheese", "-t", "0")


def test_shots_side_by_side_differ_where_the_answers_differ(model_path):
    proc = run_cli(*SHOTS, "--json")
    assert proc.returncode == 0, proc.stderr
    *variants, div = [json.loads(line) for line in proc.stdout.splitlines()]
    answers = [v["summary"]["text"] for v in variants]
    assert [v["label"] for v in variants] == ["zero-shot", "one-shot", "3-shot"]
    assert answers[2].strip() == "fromage"  # as `gptplay fewshot translate -k 3` answers
    assert len(set(answers)) > 1 and div["position"] is not None
    p = div["position"]
    for v, choice in zip(div["variants"], variants):
        # the token a variant took at the divergence is the one its own tokens show there
        took = div["choices"][v["took"]]
        assert took["text"] == choice["tokens"][p]["text"]
        assert v["logprobs"][v["took"]] == pytest.approx(choice["tokens"][p]["logprob"])
        assert all(lp is None or lp <= 0 for lp in v["logprobs"])


def test_columns_on_the_real_model_in_process(engine):
    obj = {ENGINE_LOADER: lambda settings, **_: engine}
    shown = CliRunner().invoke(app, SHOTS, env={"COLUMNS": "140"}, obj=obj)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    header = next(line for line in lines if "zero-shot" in line)
    assert "one-shot" in header and "3-shot" in header  # side by side
    assert "fromage" in next(line for line in lines if "┃" in line)
    assert "Diverge at token" in shown.stdout and "from the KV cache" in shown.stderr


def test_score_table_makes_the_three_shot_answer_most_likely(model_path):
    proc = run_cli(*SHOTS, "--score", " fromage", "--score", " chien", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    fromage = [r["continuations"][0]["logprob"] for r in rows]
    assert fromage[2] > fromage[1] and fromage[2] > fromage[0]
    for r in rows:
        for c in r["continuations"]:
            assert c["logprob"] == pytest.approx(sum(t["logprob"] for t in c["tokens"]))
        assert r["continuations"][0]["logprob"] > r["continuations"][1]["logprob"]
    table = run_cli(*SHOTS, "--score", " fromage", env={"COLUMNS": "100"})
    assert table.returncode == 0, table.stderr
    assert "' fromage'" in table.stdout and f"{fromage[2]:.3f}" in table.stdout


def test_variants_of_one_prompt_reuse_its_cache_and_score_their_divergence(engine):
    task = "Translate English to French, the way a careful translator would say it. " * 6
    prompt = task + "\nsea otter => loutre de mer\ncheese =>"
    params = [SamplingParams(temperature=t, seed=11, max_tokens=8) for t in (0.0, 1.5)]
    variants = [Variant(i, {"temperature": p.temperature}, prompt, p) for i, p in enumerate(params)]
    engine.reset()
    results = generate(variants, lambda model: engine, top=5)
    n = len(results[0].prompt_ids)
    assert results[0].completion.cached_tokens == 0
    # the second variant takes its prompt from the cache up to the last canonical chunk
    # boundary before its final token (engine/kvcache.py), which is always decoded again
    assert n > CHUNK and results[1].completion.cached_tokens == (n - 1) - (n - 1) % CHUNK
    div = divergence(results, engine)
    if div is None:  # a hot sample can still agree with the greedy one: then nothing parts
        assert [e.id for e in results[0].events] == [e.id for e in results[1].events]
        return
    first = results[0].events
    context = results[0].prompt_ids + [e.id for e in first[: div.position]]
    if div.position < len(first):  # the greedy variant's own token, scored afresh
        fresh = engine.score_tokens(context, [first[div.position].id])[0].logprob
        assert div.logprobs[0][div.taken[0]] == pytest.approx(fresh, abs=0.05)
    assert all(math.isfinite(lp) for row in div.logprobs for lp in row if lp is not None)
