"""Chosen demonstrations (issue 23 item 4): --select similar (BM25) and embed, per example."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gptplay.engine.fake import FakeEngine
from gptplay.errors import UsageError
from gptplay.evaluate.similar import DemoRanker
from tests.cli_support import invoke
from tests.conftest import run_cli

POOL = [
    ("The home side scored twice in the cup final.", "Sports"),
    ("Shares of the carmaker fell after a profit warning.", "Business"),
    ("The striker scored a late goal to win the final.", "Sports"),
    ("The central bank raised interest rates again.", "Business"),
]
TEST = [
    ("A striker scored in the final minute of the cup.", "Sports"),
    ("Bank shares fell as interest rates rose.", "Business"),
]


def prompt_text(ids: list[int]) -> str:
    return bytes(t - 1 for t in ids[1:]).decode()


def write(path, rows) -> str:
    path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    return str(path)


def test_bm25_ranks_the_pool_nearest_last_and_never_picks_the_query_itself():
    texts = [t for t, _ in POOL]
    ranker = DemoRanker(texts)
    picked = ranker.nearest(TEST[0][0], 2)
    scores = ranker.scores(TEST[0][0])
    assert set(picked) == {0, 2} and scores[picked[1]] >= scores[picked[0]] > scores[1]
    assert set(ranker.nearest(TEST[1][0], 2)) == {1, 3}
    assert texts[2] not in [texts[i] for i in ranker.nearest(texts[2], 3)]
    with pytest.raises(UsageError, match="pool holds 3 other examples"):
        ranker.nearest(texts[0], 4)


def test_embedding_ranker_uses_cosine_similarity():
    vectors = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [0.9, 0.1], "q": [1.0, 0.05]}
    ranker = DemoRanker(list("abc"), "embed", lambda ts: np.array([vectors[t] for t in ts]))
    assert ranker.nearest("q", 2) == [2, 0]
    assert ranker.nearest_all(["q", "b"], 1) == [[0], [2]]  # "b" itself is left out


def test_fewshot_select_similar_picks_the_demonstrations_nearest_the_query():
    engine = FakeEngine(n_ctx=4096)
    ran = invoke("fewshot", "topic", "The goalkeeper will retire after the season final.",
                 "--shots", "1", "--select", "similar", "--json", engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    record = json.loads(ran.stdout.splitlines()[0])
    assert record["select"] == "similar"
    assert record["demonstrations"][0]["text"].startswith("The veteran goalkeeper")


def test_fewshot_select_embed_asks_the_engine_for_embeddings():
    engine = FakeEngine(n_ctx=4096)
    ran = invoke("fewshot", "topic", "The central bank raised interest rates by a point.",
                 "--shots", "1", "--select", "embed", "--json", engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    record = json.loads(ran.stdout.splitlines()[0])
    assert record["demonstrations"][0]["text"].startswith("The central bank raised")
    assert [len(texts) for texts in engine.embedded] == [12, 1]  # the pool, then the query


def test_eval_runs_random_and_similar_side_by_side_with_each_examples_demonstrations(tmp_path):
    data, pool = write(tmp_path / "t.jsonl", TEST), write(tmp_path / "p.jsonl", POOL)
    engine = FakeEngine(n_ctx=4096)
    out = tmp_path / "r.json"
    ran = invoke("eval", "topic", "--data", data, "--pool", pool, "--shots", "0,2",
                 "--seeds", "2", "--select", "random,similar", "-o", str(out),
                 engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    assert "topic random" in ran.stdout and "topic similar" in ran.stdout
    random_, similar = json.loads(out.read_text())["prompts"]
    assert [(r["shots"], r["seed"]) for r in random_["runs"]] == [(0, None), (2, 0), (2, 1)]
    assert [(r["shots"], r["seed"]) for r in similar["runs"]] == [(0, None), (2, None)]
    chosen = similar["chosen_demonstrations"]  # pool lines, nearest last
    assert [sorted(c) for c in chosen] == [[1, 3], [2, 4]]
    prompts = [prompt_text(p) for p in engine.scored]
    # the similar 2-shot prompt of test example 1 shows its two pool lines in that order
    far, near = (POOL[line - 1][0] for line in chosen[0])
    query_end = TEST[0][0] + "\nTopic:"
    shown = [p for p in prompts if p.endswith(query_end) and far in p and near in p]
    assert shown and shown[0].index(far) < shown[0].index(near)


def test_eval_similar_refuses_calibration_and_balanced_draws(tmp_path):
    data, pool = write(tmp_path / "t.jsonl", TEST), write(tmp_path / "p.jsonl", POOL)
    for flag in ("--calibrate", "--balanced"):
        ran = invoke("eval", "topic", "--data", data, "--pool", pool, "--shots", "1",
                     "--select", "similar", flag)  # fmt: skip
        assert ran.exit_code == 2 and f"{flag} draws demonstrations at random" in ran.error
    ran = invoke("eval", "topic", "--data", data, "--select", "nearest")
    assert ran.exit_code == 2 and "--select 'nearest'" in ran.error


# ---- the real model -----------------------------------------------------------------


@pytest.mark.model
def test_the_models_embeddings_put_paraphrases_near_and_leave_generation_alone(engine):
    from gptplay.engine.types import SamplingParams

    greedy = SamplingParams(temperature=0.0, max_tokens=8, seed=1)
    before = engine.stream("The capital of France is", greedy).run().text
    v = engine.embed([
        "The cat sat on the mat.", "A kitten rested on the rug.", "Stock markets fell sharply.",
    ])  # fmt: skip
    assert v.shape == (3, 640)
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert engine.stream("The capital of France is", greedy).run().text == before


@pytest.mark.model
def test_eval_select_similar_end_to_end_on_the_real_model(model_path, tmp_path):
    data, pool = write(tmp_path / "t.jsonl", TEST), write(tmp_path / "p.jsonl", POOL)
    out = tmp_path / "r.json"
    proc = run_cli("eval", "topic", "--data", data, "--pool", pool, "--shots", "2",
                   "--select", "similar,embed", "--threads", "2", "-o", str(out),
                   timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "topic similar" in proc.stdout and "topic embed" in proc.stdout
    similar, embed = json.loads(out.read_text())["prompts"]
    assert [sorted(c) for c in similar["chosen_demonstrations"]] == [[1, 3], [2, 4]]
    assert len(embed["chosen_demonstrations"]) == 2
    assert all(len(p["runs"][0]["predictions"]) == 2 for p in (similar, embed))
