"""Label words, per-example choices and generation on the real model, checked against
llama-cpp-python on its own; the CLI on datasets the tests write themselves."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from gptplay.engine.probs import log_softmax
from gptplay.engine.types import SamplingParams
from gptplay.evaluate import Example, LabelScorer
from gptplay.evaluate.arithmetic import examples, parse_generate
from gptplay.evaluate.choices import ChoiceScorer
from gptplay.evaluate.generate import Generator
from gptplay.evaluate.run import Run
from gptplay.evaluate.score import logsumexp
from gptplay.library import load_prompt, load_text
from tests.conftest import reference_logprobs, run_cli
from tests.test_eval import whole_prompt_logprob

pytestmark = pytest.mark.model

TREC_TOML = """title = "Question type (TREC codes)"
kind = "classification"
template = "Question: {question}\\nType: {label}"
answer = "label"
separator = "\\n\\n"
labels = { NUM = "Number", LOC = ["Location", "Place"], HUM = "Person", DESC = "Description" }
stop = ["\\n"]

[[examples]]
question = "How many people live in Tokyo?"
label = "NUM"

[[examples]]
question = "Where is the Eiffel Tower?"
label = "Location"

[[examples]]
question = "Who wrote Hamlet?"
label = "HUM"

[[examples]]
question = "What is a black hole?"
label = "DESC"
"""
TREC_ROWS = [
    ("How far away is the Moon?", "NUM"),
    ("Where is Mount Everest?", "LOC"),
    ("Who painted the Mona Lisa?", "HUM"),
    ("What is photosynthesis?", "DESC"),
    ("When did the war end?", "NUM"),
]
SST2_INT = """title = "SST-2, integer labels"
kind = "classification"
template = "Review: {sentence}\\n{head}: {label}"
answer = "label"
separator = "\\n\\n"
labels = { 0 = "negative", 1 = "positive" }

[variables]
head = "Sentiment"
"""
REVIEWS = [
    ("a gripping , beautifully acted drama .", 1),
    ("the worst film i have seen this year .", 0),
    ("charming and funny from start to finish .", 1),
    ("boring , predictable and far too long .", 0),
    ("an absolute delight .", 1),
    ("a mess of a movie .", 0),
]


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_label_with_several_words_scores_their_summed_probability(engine, reference):
    spec = load_text(TREC_TOML, "trec.toml", "trec")
    scorer = LabelScorer(engine, spec)
    demos = [Example({"question": "How many legs has a dog?"}, "NUM", 1)]
    fields = {"question": "Where is Paris?"}
    scores = scorer.score(demos, fields)
    context = engine.tokenize(scorer.prompt(demos, fields))
    assert scorer.prompt(demos, fields).startswith(
        "Question: How many legs has a dog?\nType: Number"
    )
    for s in scores:
        per_word = [
            whole_prompt_logprob(reference, context, ids) for ids in scorer.word_ids[s.label]
        ]
        assert s.logprob == pytest.approx(logsumexp(per_word), abs=1e-3)
    loc = next(s for s in scores if s.label == "LOC")
    assert [w for w, _, _ in loc.words] == ["Location", "Place"]
    assert loc.logprob > max(lp for _, lp, _ in loc.words)  # the sum beats either word


def test_choice_scores_equal_a_whole_prompt_computation(engine, reference):
    spec = load_prompt("multiple-choice")
    scorer = ChoiceScorer(engine, spec)
    fields = {"question": "What color is the sky?", "a": "Green", "b": "Blue", "c": "Red"}
    fields["d"] = "A very dark shade of purple"
    example = Example(fields, "Blue", 1, ("Green", "Blue", "Red", fields["d"]), 1)
    demo = Example(
        {"question": "What do bees make?", "a": "Honey", "b": "Silk", "c": "Milk", "d": "Wool"},
        "Honey",
        2,
        ("Honey", "Silk", "Milk", "Wool"),
        0,
    )
    run = Run(1, 0, [demo])
    pred = scorer.predict(run, 0, example)
    text = scorer.prompt([demo], fields)
    assert "Answer: Honey\n\nQuestion: What color" in text and text.endswith("Answer:")
    context = engine.tokenize(text)
    for s in pred.scores:
        ids = scorer.continuation_ids(s.text)
        assert s.tokens == len(ids) and s.chars == len(s.text)
        assert s.logprob == pytest.approx(whole_prompt_logprob(reference, context, ids), abs=1e-3)
    assert max(s.tokens for s in pred.scores) >= 5
    lps = [s.logprob for s in pred.scores]
    assert pred.predicted == int(np.argmax(lps))
    assert pred.predicted_norm == int(np.argmax([s.logprob / s.chars for s in pred.scores]))


def test_generation_is_greedy_and_scores_the_gold_answer(engine, reference):
    spec = load_prompt("arithmetic")
    task = parse_generate("2digit-add")
    test, pool = examples(spec, task, 3)
    variables = {"op": "plus"}
    greedy = SamplingParams(temperature=0.0, max_tokens=6, stop=("\n",))
    gen = Generator(engine, spec, variables, greedy)
    run = Run(2, 0, pool[:2])
    for i, example in enumerate(test):
        pred = gen.predict(run, i, example)
        [sample] = pred.samples
        context = engine.tokenize(gen.prompt(run.demos, example.fields))
        split = gen.shared_prefix(run.demos)
        gold_ids = gen.continuation_ids(example.label)
        # scored like a label: equal to one padded decode of the prompt and the answer
        want = whole_prompt_logprob(reference, context, gold_ids)
        assert pred.gold_logprob == pytest.approx(want, abs=1e-3)
        assert sum(lp for _, lp in pred.gold_tokens) == pytest.approx(pred.gold_logprob)
        # the reference's own greedy choice at every generated position
        ids = [t.id for t in sample.tokens]
        reference.reset()
        reference.eval(context[:split])
        reference.eval(context[split:])
        for t in ids[:-1]:
            reference.eval([t])
        rows = log_softmax(
            np.array(reference.scores[len(context) - 1 : len(context) + len(ids) - 1])
        )
        reference.reset()
        for row, tok in zip(rows, sample.tokens):
            best = np.sort(row)[-2:]
            if best[1] - best[0] > 0.3:  # a clear winner: greedy must take it
                assert tok.id == int(np.argmax(row))
            # generation decodes in its own batch shapes: equal to llama.cpp's rounding
            assert tok.logprob == pytest.approx(float(row[tok.id]), abs=0.2)
        assert "\n" not in sample.text and sample.finish in ("stop", "length")
        assert sample.score == float(sample.text.strip() == example.label)


def test_cli_trec_codes_with_label_words(tmp_path):
    prompt = tmp_path / "trec.toml"
    prompt.write_text(TREC_TOML)
    data = jsonl(tmp_path / "trec.jsonl", [{"q": q, "coarse": c} for q, c in TREC_ROWS])
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", str(prompt), "--data", str(data), "--field", "question=q",
        "--field", "label=coarse", "--shots", "0,2", "--seeds", "1", "--calibrate",
        "--confusion", "--output", str(out), "--ctx", "1024", "--threads", "1",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "calibrated acc %" in result.stdout and "NUM=Number" in result.stdout
    assert "LOC=Location/Place" in result.stdout
    record = json.loads(out.read_text())
    assert record["label_words"]["LOC"] == ["Location", "Place"]
    demo = record["runs"][1]["demonstrations"][0]
    assert demo["label"] in ("NUM", "LOC", "HUM", "DESC")  # the pool's words became codes
    for p in record["runs"][1]["predictions"]:
        assert p["gold"] == TREC_ROWS[p["index"]][1]
        assert p["gold_word"] == {"NUM": "Number", "LOC": "Location", "HUM": "Person"}.get(
            p["gold"], "Description"
        )
        assert set(p["scores"]["LOC"]["words"]) == {"Location", "Place"}
        probs = [math.exp(w["logprob"]) for w in p["scores"]["LOC"]["words"].values()]
        assert p["scores"]["LOC"]["logprob"] == pytest.approx(math.log(sum(probs)))
        assert p["predicted"] == max(p["scores"], key=lambda k: p["scores"][k]["logprob"])


def test_cli_integer_sst2_with_two_prompts_side_by_side(tmp_path):
    prompt = tmp_path / "sst2int.toml"
    prompt.write_text(SST2_INT)
    other = tmp_path / "opinion.toml"
    other.write_text(SST2_INT.replace('head = "Sentiment"', 'head = "Opinion"'))
    data = jsonl(tmp_path / "dev.jsonl", [{"sentence": s, "label": g} for s, g in REVIEWS])
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", str(prompt), "--prompts", str(other), "--data", str(data), "--pool", str(data),
        "--shots", "0,2", "--seeds", "1", "--output", str(out), "--ctx", "1024", "--threads", "1",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "prompts side by side" in result.stdout
    assert "sst2int" in result.stdout and "opinion" in result.stdout
    record = json.loads(out.read_text())
    a, b = record["prompts"]
    assert (a["task"], b["task"]) == ("sst2int", "opinion")
    for ra, rb in zip(a["runs"], b["runs"]):  # the same demonstrations for both prompts
        assert ra["demonstrations"] == rb["demonstrations"]
        assert [p["gold"] for p in ra["predictions"]] == [str(g) for _, g in REVIEWS]
        assert ra["predictions"][0]["gold_word"] in ("negative", "positive")


def test_cli_per_example_choices_by_text_and_by_letter(tmp_path):
    rows = [
        {"question": "What color is the sky on a clear day?", "a": "Green", "b": "Blue",
         "c": "Red", "d": "Black", "answer": "B"},
        {"question": "How many legs does a spider have?", "a": "Six", "b": "Four",
         "c": "Eight", "d": "Ten", "answer": "C"},
        {"question": "What do cows drink?", "a": "Milk", "b": "Juice", "c": "Oil",
         "d": "Water", "answer": "D"},
    ]  # fmt: skip
    data = jsonl(tmp_path / "mc.jsonl", rows)
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", "multiple-choice", "--data", str(data), "--choices", "a,b,c,d",
        "--shots", "0,1", "--seeds", "1", "--output", str(out), "--ctx", "1024", "--threads", "1",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "acc_norm (chars) %" in result.stdout and "acc_norm (tokens) %" in result.stdout
    assert "chance (1 / options): 25.0%" in result.stdout
    record = json.loads(out.read_text())
    assert record["mode"] == "choices" and record["choices_from"] == ["a", "b", "c", "d"]
    demo = record["runs"][1]["demonstrations"][0]
    assert demo["label"] == demo["choices"][demo["gold"]]  # a demonstration shows the text
    for p in record["runs"][0]["predictions"]:
        assert p["gold"] == "ABCD".index(rows[p["index"]]["answer"])
        lps = [c["logprob"] for c in p["choices"]]
        assert p["predicted"] == lps.index(max(lps))
        per_char = [c["logprob"] / c["chars"] for c in p["choices"]]
        assert p["predicted_norm"] == per_char.index(max(per_char))
    by_letter = run_cli(
        "eval", "multiple-choice", "--data", str(data), "--shots", "0", "--threads", "1",
        timeout=300,
    )  # fmt: skip
    assert by_letter.returncode == 0, by_letter.stderr
    assert "macro-F1 %" in by_letter.stdout and "labels A, B, C, D" in by_letter.stderr


def test_cli_arithmetic_generate(tmp_path):
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", "arithmetic", "--generate", "2digit-sub", "--limit", "4", "--shots", "0,2",
        "--seeds", "1", "--output", str(out), "--ctx", "1024", "--threads", "1",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "exact match %" in result.stdout and "gold logprob" in result.stdout
    record = json.loads(out.read_text())
    assert record["mode"] == "generate" and record["variables"] == {"op": "minus"}
    sampling = record["sampling"]
    assert (sampling["temperature"], sampling["max_tokens"], sampling["stop"]) == (0, 6, ["\n"])
    test, _ = examples(load_prompt("arithmetic"), parse_generate("2digit-sub"), 4)
    for run in record["runs"]:
        hits = 0
        for p in run["predictions"]:
            [s] = p["samples"]
            assert p["gold"] == test[p["index"]].label
            assert "".join(t["text"] for t in s["tokens"]).startswith(s["text"])
            assert s["logprob"] == pytest.approx(sum(t["logprob"] for t in s["tokens"]))
            assert all(len(t["top"]) == 3 for t in s["tokens"])
            assert p["gold_logprob"] < 0 and p["gold_tokens"]
            hits += s["score"]
        assert run["exact"] == pytest.approx(hits / 4)


def test_a_continuation_longer_than_one_decode_scores_as_a_short_one(engine, reference):
    # more tokens than one decode keeps logits for: scored in chunks, with the same numbers
    context = engine.tokenize("Count along: one, two, three,")
    long = engine.tokenize(" four, five, six, seven, eight, nine, ten" * 4, add_bos=False)
    assert len(long) > 40
    scored = engine.score_choices(context, [long, long[:3]])
    rows = reference_logprobs(reference, context + long, len(context) - 1)
    for j, tok in enumerate(scored[0]):
        assert tok.logprob == pytest.approx(float(rows[j][long[j]]), abs=1e-3)
    assert [t.logprob for t in scored[1]] == pytest.approx(
        [t.logprob for t in scored[0][:3]], abs=1e-3
    )


def test_the_docs_sample_scores_the_same_by_its_options_list_and_by_its_columns(tmp_path):
    # issue 24 item 19: --choices options failed on the prompt's own demonstrations
    data = Path(__file__).parents[1] / "docs" / "data" / "mc_sample.jsonl"
    records = []
    for choices in ("options", "a,b,c,d"):
        out = tmp_path / f"{choices}.json"
        result = run_cli(
            "eval", "multiple-choice", "--data", str(data), "--choices", choices,
            "--shots", "0,1", "--seeds", "1", "--limit", "4", "--output", str(out),
            "--ctx", "1024", "--threads", "1", "--no-history", timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        records.append(json.loads(out.read_text()))
    by_list, by_columns = records
    assert by_list["choices_from"] == ["options"]
    for a, b in zip(by_list["runs"], by_columns["runs"]):
        assert a["demonstrations"] == b["demonstrations"]
        assert [p["predicted"] for p in a["predictions"]] == [
            p["predicted"] for p in b["predictions"]
        ]
    demo = by_list["runs"][1]["demonstrations"][0]
    assert demo["label"] == demo["choices"][demo["gold"]]  # the option's text, not a letter
