"""`gptplay eval` on the real embedded model: label scores, prefix caching, the CLI."""

import json
import math

import numpy as np
import pytest

from gptplay.evaluate import CONTENT_FREE, Example, LabelScorer, content_free_probs, label_probs
from gptplay.library import load_prompt
from tests.conftest import SHARED, reference_logprobs, run_cli

pytestmark = pytest.mark.model

SPEC = load_prompt("sst2")
DATA = [
    ("a gripping , beautifully acted drama .", "positive"),
    ("the worst film i have seen this year .", "negative"),
    ("charming and funny from start to finish .", "positive"),
    ("boring , predictable and far too long .", "negative"),
    ("an absolute delight .", "positive"),
    ("a mess of a movie .", "negative"),
]
RATING = (
    'title = "Rating"\nkind = "classification"\ntemplate = "Review: {sentence}\\n'
    'Verdict: {label}"\nanswer = "label"\nseparator = "\\n\\n"\n'
    'labels = ["thumbs up", "thumbs down", "mixed feelings overall"]\nstop = ["\\n"]\n'
)
EXAMPLES = [Example({"sentence": s}, g, i + 1) for i, (s, g) in enumerate(DATA)]


def whole_prompt_logprob(reference, context: list[int], label: list[int]) -> float:
    """The label's log-probability from a fresh evaluation of prompt + label as one text:
    llama-cpp-python on its own, one padded decode (tests/conftest.py)."""
    rows = reference_logprobs(reference, context + label, len(context) - 1)
    return float(sum(rows[i][t] for i, t in enumerate(label)))


def test_label_scores_equal_a_whole_prompt_computation(engine, reference):
    scorer = LabelScorer(engine, SPEC)
    demos = EXAMPLES[:2]
    split = scorer.shared_prefix(demos)
    assert split > 20  # the demonstrations and "Review:"
    for i, example in enumerate(EXAMPLES[2:]):
        scores = scorer.score(demos, example.fields)
        if i:  # the demonstrations from the cache, whatever the cache held at first
            assert engine.last_prefix_reused == split
        context = engine.tokenize(scorer.prompt(demos, example.fields))
        assert [s.label for s in scores] == list(SPEC.labels)
        for s in scores:
            ids = scorer.label_ids[s.label]
            assert s.tokens == len(ids) and s.logprob < 0
            want = whole_prompt_logprob(reference, context, ids)
            assert s.logprob == pytest.approx(want, abs=1e-3)


def test_demonstrations_stay_in_the_cache(engine):
    scorer = LabelScorer(engine, SPEC)
    demos = EXAMPLES[:4]
    demo_tokens = len(engine.tokenize(scorer.prompt(demos, {"sentence": ""}))) - 8
    scorer.score(demos, EXAMPLES[4].fields)
    scorer.score(demos, EXAMPLES[5].fields)
    # the second example reused at least the demonstrations from the first
    assert demo_tokens > 40
    assert engine.last_prefix_reused >= demo_tokens


def test_multi_token_labels_sum_every_token(engine, reference, tmp_path):
    path = tmp_path / "rating.toml"
    path.write_text(RATING)
    spec = load_prompt(str(path))
    scorer = LabelScorer(engine, spec)
    fields = {"sentence": DATA[0][0]}
    scores = scorer.score([], fields)
    context = engine.tokenize(scorer.prompt([], fields))
    assert max(s.tokens for s in scores) >= 3
    for s in scores:
        expected = whole_prompt_logprob(reference, context, scorer.label_ids[s.label])
        assert s.logprob == pytest.approx(expected, abs=1e-3)
        assert s.mean == pytest.approx(s.logprob / s.tokens)


def test_content_free_probabilities_on_the_model(engine):
    scorer = LabelScorer(engine, SPEC)
    assert scorer.prompt([], {"sentence": "N/A"}) == "Review: N/A\nSentiment:"
    per_input = scorer.content_free(EXAMPLES[:2])
    assert len(per_input) == len(CONTENT_FREE)
    p_cf = content_free_probs([[s.logprob for s in scores] for scores in per_input])
    direct = [
        label_probs([s.logprob for s in scorer.score(EXAMPLES[:2], {"sentence": cf})])
        for cf in CONTENT_FREE
    ]
    # the same batches whatever was cached before: the same numbers
    assert p_cf == pytest.approx(np.mean(direct, axis=0), abs=1e-9)
    assert math.isclose(sum(p_cf), 1.0)


def test_cli_eval_table_json_and_plot(tmp_path):
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps({"text": s, "gold": g}) + "\n" for s, g in DATA))
    out, png = tmp_path / "res.json", tmp_path / "acc.png"
    result = run_cli(
        "eval",
        "sst2",
        "--data",
        str(data),
        "--field",
        "sentence=text",
        "--field",
        "label=gold",
        "--shots",
        "0,2",
        "--seeds",
        "2",
        "--calibrate",
        "--balanced",
        "--confusion",
        "--output",
        str(out),
        "--plot",
        str(png),
        "--ctx",
        "1024",
    )
    assert result.returncode == 0, result.stderr
    assert "accuracy %" in result.stdout and "calibrated acc %" in result.stdout
    assert "majority class (positive): 50.0%" in result.stdout
    assert "accuracy against shots" in result.stdout and "gold \\ predicted" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    record = json.loads(out.read_text())
    assert record["interrupted"] is False and record["examples"] == 6
    assert [(r["shots"], r["seed"]) for r in record["runs"]] == [(0, None), (2, 0), (2, 1)]
    for run in record["runs"]:
        assert len(run["predictions"]) == 6
        labels = [d["label"] for d in run["demonstrations"]]
        assert sorted(labels) == sorted(set(labels)) == (["negative", "positive"] if labels else [])
        assert sum(run["content_free_probs"].values()) == pytest.approx(1.0)
        hits = 0
        for p in run["predictions"]:
            best = max(p["scores"], key=lambda k: p["scores"][k]["logprob"])
            assert p["predicted"] == best and p["gold"] == DATA[p["index"]][1]
            hits += p["predicted"] == p["gold"]
        assert run["accuracy"] == pytest.approx(hits / 6)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{bad}"], "bad.jsonl:2:28: label 'meh' is not one of"),
        (["--data", "{bad}", "--shots", "0,x"], "--shots '0,x' is not a list"),
        (
            ["--data", "{good}", "--shots", "9"],
            "9 shots need 9 demonstrations but the pool holds 8",
        ),
        (["--data", "{good}", "--plot", "a.svg"], "the chart is a PNG file"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sentence": "a", "label": "positive"}\n{"sentence": "b", "label": "meh"}\n')
    good = tmp_path / "good.jsonl"
    good.write_text('{"sentence": "a", "label": "positive"}\n')
    args = [a.format(bad=bad, good=good) for a in args]
    result = run_cli("eval", "sst2", *args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")


def test_cli_a_prompt_without_labels_generates_and_scores_chrf(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(
        '{"english": "cheese", "french": "fromage"}\n{"english": "cat", "french": "chat"}\n'
    )
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", "translate", "--data", str(data), "--shots", "0,2", "--seeds", "1",
        "--metric", "chrf", "--output", str(out), "--threads", "1", timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "chrF" in result.stdout and "gold logprob" in result.stdout
    record = json.loads(out.read_text())
    assert record["mode"] == "generate" and record["config"]["metric"] == "chrf"
    assert all(0 <= run["chrf"] <= 1 for run in record["runs"])


@pytest.mark.skipif(not (SHARED / "datasets").is_dir(), reason="../shared/datasets/ is absent")
def test_shared_sst2_few_shot_beats_the_majority_class(tmp_path):
    out = tmp_path / "r.json"
    datasets = SHARED / "datasets"
    result = run_cli(
        "eval",
        "sst2",
        "--data",
        str(datasets / "sst2_dev.jsonl"),
        "--pool",
        str(datasets / "sst2_train.jsonl"),
        "--shots",
        "4",
        "--seeds",
        "1",
        "--limit",
        "40",
        "--output",
        str(out),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert record["runs"][0]["accuracy"] > record["majority_baseline"]["accuracy"]


def test_scores_do_not_depend_on_the_cache_or_the_order(engine, reference, tmp_path, monkeypatch):
    path = tmp_path / "rating.toml"
    path.write_text(RATING)
    scorer = LabelScorer(engine, load_prompt(str(path)))
    demos = [Example({"sentence": s}, "thumbs up", 1) for s, _ in DATA[:1]]
    queries = [e.fields for e in EXAMPLES[1:]]
    decodes = []
    run = engine._cache.run
    monkeypatch.setattr(engine._cache, "run", lambda pad=False: decodes.append(pad) or run(pad))
    engine.reset()
    forward = [scorer.score(demos, q) for q in queries]
    # per example: its tokens with the first multi-token label, then one per other such label
    longer = sum(len(ids) > 1 for ids in scorer.label_ids.values())
    assert longer >= 2 and decodes == [True] * (len(queries) * longer)
    monkeypatch.undo()
    engine.score("Something else entirely.", " first")  # another prompt in the cache
    backward = [scorer.score(demos, q) for q in reversed(queries)][::-1]
    for fields, a_scores, b_scores in zip(queries, forward, backward):
        context = engine.tokenize(scorer.prompt(demos, fields))
        for a, b in zip(a_scores, b_scores):
            assert a.logprob == pytest.approx(b.logprob, abs=1e-3)
            want = whole_prompt_logprob(reference, context, scorer.label_ids[a.label])
            assert a.logprob == pytest.approx(want, abs=1e-3)
