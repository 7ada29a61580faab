"""Evaluation data, demonstration sampling, metrics and calibration arithmetic (no model)."""

import json
import math
from collections import Counter

import pytest

from gptplay.evaluate import (
    DataError,
    EvalConfig,
    Example,
    calibrate,
    content_free_probs,
    evaluate,
    label_probs,
    load_examples,
    parse_field_map,
    resolve_data,
    sample_demos,
    subset,
    summarize,
    to_json,
)
from gptplay.evaluate.metrics import accuracy, confusion, macro_f1, majority, mean_std
from gptplay.evaluate.score import LabelScore, LabelScorer
from gptplay.library import load_prompt

SPEC = load_prompt("sst2")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows(*items: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in items)


def test_jsonl_and_csv_load_the_same_examples(tmp_path):
    j = write(tmp_path, "d.jsonl", rows({"sentence": "good", "label": "positive", "x": 1}))
    c = write(tmp_path, "d.csv", 'sentence,label\n"bad, really",negative\n')
    assert load_examples(j, SPEC) == [Example({"sentence": "good"}, "positive", 1)]
    assert load_examples(c, SPEC) == [Example({"sentence": "bad, really"}, "negative", 2)]


def test_field_map_reads_other_columns(tmp_path):
    path = write(tmp_path, "d.jsonl", rows({"text": "fine", "gold": "positive"}))
    columns = parse_field_map(["sentence=text", "label=gold"], SPEC)
    assert load_examples(path, SPEC, columns)[0] == Example({"sentence": "fine"}, "positive", 1)
    with pytest.raises(DataError, match="has no field 'review'"):
        parse_field_map(["review=text"], SPEC)
    with pytest.raises(DataError, match="not NAME=COLUMN"):
        parse_field_map(["sentence"], SPEC)


@pytest.mark.parametrize(
    ("name", "text", "pattern"),
    [
        (
            "missing.jsonl",
            rows({"sentence": "a", "label": "positive"}, {"text": "b", "label": "negative"}),
            r"missing.jsonl:2: no value for the field 'sentence'",
        ),
        (
            "outside.jsonl",
            rows({"sentence": "a", "label": "positive"}, {"sentence": "b", "label": "meh"}),
            r"outside.jsonl:2:28: label 'meh' is not one of prompt 'sst2''s labels",
        ),
        ("empty.jsonl", "\n\n", r"empty.jsonl: the file holds no examples"),
        (
            "malformed.jsonl",
            rows({"sentence": "a", "label": "positive"}) + '{"sentence": "b", "label": \n',
            r"malformed.jsonl:2: not valid JSON",
        ),
        ("list.jsonl", '["a", "positive"]\n', r"list.jsonl:1: a line must be a JSON object"),
        ("cells.csv", "sentence,label\na,positive,extra\n", r"cells.csv:2: more cells"),
        ("nolabel.csv", "sentence,label\na,positive\nb,\n", r"nolabel.csv:3: no value .*'label'"),
    ],
)
def test_bad_data_names_the_file_and_line(tmp_path, name, text, pattern):
    path = write(tmp_path, name, text)
    with pytest.raises(DataError, match=pattern) as info:
        load_examples(path, SPEC)
    assert str(path) in info.value.message


def test_missing_file_and_unknown_hub_name(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="no such file"):
        resolve_data(str(tmp_path / "nope.jsonl"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataError, match="not in the Hugging Face cache"):
        resolve_data("someone/sst2")


def test_hub_dataset_resolves_from_a_cache_built_offline(tmp_path, monkeypatch):
    cache = tmp_path / "hub"
    repo = cache / "datasets--someone--sst2"
    snap = repo / "snapshots" / "abc123"
    (snap / "data").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    (snap / "data" / "train.jsonl").write_text(rows({"sentence": "a", "label": "positive"}))
    (snap / "data" / "validation.jsonl").write_text(rows({"sentence": "b", "label": "negative"}))
    (snap / "README.md").write_text("card")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_data("someone/sst2:validation") == snap / "data" / "validation.jsonl"
    assert resolve_data("someone/sst2:data/train.jsonl") == snap / "data" / "train.jsonl"
    examples = load_examples(resolve_data("someone/sst2:validation"), SPEC)
    assert examples == [Example({"sentence": "b"}, "negative", 1)]
    with pytest.raises(DataError, match="holds 2 .jsonl/.csv files .*; name one"):
        resolve_data("someone/sst2")  # two files: the user must name one
    with pytest.raises(DataError, match="0 of them match 'test'"):
        resolve_data("someone/sst2:test")


POOL = [Example({"sentence": f"s{i}"}, "positive" if i % 4 else "negative", i) for i in range(40)]


def test_demonstrations_are_seeded_and_balanced_on_request():
    labels = ("positive", "negative")
    a = sample_demos(POOL, 8, 3, labels)
    assert a == sample_demos(POOL, 8, 3, labels) and len({d.line for d in a}) == 8
    assert a != sample_demos(POOL, 8, 4, labels)
    for seed in range(5):
        counts = Counter(d.label for d in sample_demos(POOL, 8, seed, labels, balanced=True))
        assert counts == {"positive": 4, "negative": 4}
        odd = Counter(d.label for d in sample_demos(POOL, 5, seed, labels, balanced=True))
        assert sorted(odd.values()) == [2, 3]
    with pytest.raises(DataError, match="pool holds 40"):
        sample_demos(POOL, 41, 0, labels)
    with pytest.raises(DataError, match="needs 11 'negative' demonstrations but the pool has 10"):
        sample_demos(POOL, 22, 0, labels, balanced=True)


def test_subset_is_fixed_and_in_file_order():
    assert subset(POOL, 10) == subset(POOL, 10)
    assert [e.line for e in subset(POOL, 10)] == sorted(e.line for e in subset(POOL, 10))
    assert subset(POOL, None) == POOL and subset(POOL, 100) == POOL


def test_calibration_arithmetic():
    scores = [math.log(0.7), math.log(0.3)]
    assert label_probs(scores) == pytest.approx([0.7, 0.3])
    # dividing by p_cf = (0.8, 0.2) and renormalising: (0.875, 1.5) / 2.375
    assert calibrate(scores, [0.8, 0.2]) == pytest.approx([0.875 / 2.375, 1.5 / 2.375])
    # p_cf is the mean over content-free inputs of the probabilities among the labels
    per_input = [[math.log(0.8), math.log(0.2)], [math.log(0.3), math.log(0.1)]]
    assert content_free_probs(per_input) == pytest.approx([(0.8 + 0.75) / 2, (0.2 + 0.25) / 2])
    # a uniform p_cf changes nothing
    assert calibrate(scores, [0.5, 0.5]) == pytest.approx([0.7, 0.3])


def test_metrics():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    assert accuracy(gold, pred) == pytest.approx(4 / 6)
    assert confusion(gold, pred, ["a", "b", "c"]) == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    f1 = [2 * 2 / (3 + 2), 2 * 1 / (2 + 2), 2 * 1 / (1 + 2)]
    assert macro_f1(gold, pred, ["a", "b", "c"]) == pytest.approx(sum(f1) / 3)
    assert majority(gold) == ("a", 0.5)
    assert mean_std([0.5, 0.7]) == pytest.approx((0.6, math.sqrt(0.02)))
    assert mean_std([0.5]) == (0.5, 0.0)


class ScriptedScorer(LabelScorer):
    """Scores read from the example text ('0.9' means positive with probability 0.9)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.labels = SPEC.labels
        self.spec = SPEC
        self.calls = 0
        self.stop_after = stop_after
        self.seen: list[str] = []

    def score(self, demos, fields):
        self.calls += 1
        self.seen.append(fields["sentence"])
        if self.stop_after is not None and self.calls > self.stop_after:
            raise KeyboardInterrupt
        text = fields["sentence"]
        p = float(text) if text not in ("N/A", "", "[MASK]") else 0.8
        return [LabelScore("positive", math.log(p), 1), LabelScore("negative", math.log(1 - p), 1)]


TEST = [
    Example({"sentence": s}, g, i + 1)
    for i, (s, g) in enumerate(
        [("0.9", "positive"), ("0.7", "negative"), ("0.6", "negative"), ("0.2", "negative")]
    )
]


def test_evaluate_predicts_calibrates_and_summarizes():
    runs = []
    config = EvalConfig(shots=(0, 2), seeds=3, calibrate=True)
    evaluate(ScriptedScorer(), TEST, POOL, config, runs)
    assert [(r.shots, r.seed) for r in runs] == [(0, None), (2, 0), (2, 1), (2, 2)]
    preds = runs[0].predictions
    assert [p.predicted for p in preds] == ["positive", "positive", "positive", "negative"]
    # p_cf = (0.8, 0.2): only 0.9 stays positive (0.9/0.8 > 0.1/0.2)
    assert runs[0].p_cf == pytest.approx([0.8, 0.2])
    assert runs[0].cf_inputs["[MASK]"] == pytest.approx([0.8, 0.2])
    assert [p.calibrated for p in preds] == ["positive", "negative", "negative", "negative"]
    zero, two = summarize(runs, SPEC.labels)
    assert zero.accuracy == (0.5, 0.0) and zero.calibrated == (1.0, 0.0)
    assert two.runs == 3 and two.complete


def test_interrupted_run_keeps_what_finished():
    runs = []
    with pytest.raises(KeyboardInterrupt):
        evaluate(ScriptedScorer(stop_after=6), TEST, POOL, EvalConfig(shots=(0, 1)), runs)
    assert [len(r.predictions) for r in runs] == [4, 2]
    record = to_json(
        runs,
        SPEC.labels,
        EvalConfig(shots=(0, 1)),
        {},
        [1, 2, 3, 4],
        [e.label for e in TEST],
        interrupted=True,
    )
    assert record["interrupted"] and [r["complete"] for r in record["runs"]] == [True, False]
    assert record["summary"][1]["complete"] is False
    assert len(record["runs"][1]["predictions"]) == 2


def test_plot_without_matplotlib_says_how_to_get_it(tmp_path, monkeypatch):
    from gptplay.errors import GptplayError
    from gptplay.evaluate.plot import write_png

    runs = []
    evaluate(ScriptedScorer(), TEST, POOL, EvalConfig(shots=(0,)), runs)
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # as if not installed
    with pytest.raises(GptplayError, match=r"--plot needs matplotlib") as info:
        write_png(tmp_path / "a.png", summarize(runs, SPEC.labels), 0.5, "t")
    assert "gptplay[plot]" in info.value.hint and not (tmp_path / "a.png").exists()


def test_plot_writes_a_png(tmp_path):
    from gptplay.evaluate.plot import write_png

    runs = []
    evaluate(ScriptedScorer(), TEST, POOL, EvalConfig(shots=(0, 2), seeds=2, calibrate=True), runs)
    write_png(tmp_path / "a.png", summarize(runs, SPEC.labels), 0.75, "t")
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary file left


def test_content_free_inputs_can_be_chosen():
    scorer = ScriptedScorer()
    config = EvalConfig(shots=(0,), calibrate=True, content_free=("N/A",))
    evaluate(scorer, TEST, POOL, config, [])
    assert scorer.seen == ["N/A"] + [e.fields["sentence"] for e in TEST]
    scorer = ScriptedScorer()
    evaluate(scorer, TEST, POOL, EvalConfig(shots=(0,), calibrate=True), [])
    assert scorer.seen[:3] == ["N/A", "", "[MASK]"]
