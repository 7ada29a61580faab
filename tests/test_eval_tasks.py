"""Label words, per-example choices, generation metrics and arithmetic problems (no model)."""

import json

import pytest

from gptplay.errors import UsageError
from gptplay.evaluate import DataError, Example, load_examples
from gptplay.evaluate.arithmetic import examples, parse_generate, variables_for
from gptplay.evaluate.choices import ChoiceScore, pick
from gptplay.evaluate.data import gold_index
from gptplay.evaluate.score import logsumexp
from gptplay.evaluate.textmetrics import contains, corpus_score, exact, normalize, sentence_score
from gptplay.library import PromptError, load_prompt, load_text, render_toml

TREC = """title = "Question type"
kind = "classification"
template = "Question: {question}\\nType: {label}"
answer = "label"
labels = { NUM = "Number", LOC = "Location", yes = ["Yes", "True"] }

[[examples]]
question = "How many?"
label = "NUM"

[[examples]]
question = "Where?"
label = "Location"
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_labels_table_maps_codes_to_words():
    spec = load_text(TREC, "trec.toml", "trec")
    assert spec.labels == ("NUM", "LOC", "yes")
    assert spec.words("yes") == ("Yes", "True") and spec.words("NUM") == ("Number",)
    assert spec.label_of("Location") == "LOC" and spec.label_of("NUM") == "NUM"
    assert spec.label_of("True") == "yes" and spec.label_of("Place") is None
    # a demonstration shows the word, whether the example wrote the code or the word
    assert spec.render_demo(dict(spec.examples[0])) == "Question: How many?\nType: Number"
    assert spec.render_demo(dict(spec.examples[1])) == "Question: Where?\nType: Location"
    # saving keeps the table (a single word as a string, several as a list)
    again = load_text(render_toml(spec), "again.toml", "trec")
    assert dict(again.label_words) == dict(spec.label_words)


def test_integer_keys_map_integer_labels(tmp_path):
    spec = load_text(
        'title = "t"\nkind = "classification"\n'
        'template = "Review: {sentence}\\nSentiment: {label}"\nanswer = "label"\n'
        'labels = { 0 = "negative", 1 = "positive" }\n',
        "sst2int.toml",
        "sst2int",
    )
    path = write(
        tmp_path, "d.jsonl", '{"sentence": "good", "label": 1}\n{"sentence": "bad", "label": 0}\n'
    )
    assert [(e.label, spec.answer_text(e.label)) for e in load_examples(path, spec)] == [
        ("1", "positive"),
        ("0", "negative"),
    ]
    bad = write(
        tmp_path, "bad.jsonl", '{"sentence": "good", "label": 1}\n{"sentence": "x", "label": 2}\n'
    )
    with pytest.raises(DataError, match=r"bad.jsonl:2:28: label '2' is not one of .*0 = negative"):
        load_examples(bad, spec)


@pytest.mark.parametrize(
    ("labels", "where", "message"),
    [
        ('{ a = "x", b = "x" }', "t.toml:5:1", "the word 'x' is given to 'a' and 'b'"),
        ("{ a = 3 }", "t.toml:5:1", "label 'a' must map to a word or a list of words"),
        ("{ a = [] }", "t.toml:5:1", "label 'a' must map to a word"),
        ("{}", "t.toml:5:1", "'labels' is an empty table"),
        ('"a"', "t.toml:5:1", "'labels' must be a list"),
    ],
)
def test_bad_label_tables_are_located(labels, where, message):
    text = (
        'title = "t"\nkind = "classification"\ntemplate = "Q: {q}\\nA: {label}"\n'
        f'answer = "label"\nlabels = {labels}\n'
    )
    with pytest.raises(PromptError) as info:
        load_text(text, "t.toml", "t")
    assert str(info.value).startswith(f"{where}: {message}")


def test_an_example_outside_the_mapping_is_located():
    text = TREC.replace('label = "Location"', 'label = "Place"')
    with pytest.raises(PromptError) as info:
        load_text(text, "trec.toml", "trec")
    assert str(info.value).startswith(
        "trec.toml:13:1: example 2: 'Place' is not one of the labels or their words"
    )


def test_choices_come_from_a_list_field_or_columns(tmp_path):
    spec = load_prompt("multiple-choice")
    row = {"question": "q", "a": "Red", "b": "Blue", "c": "Green", "d": "Black", "answer": "B"}
    path = write(tmp_path, "mc.jsonl", json.dumps(row) + "\n")
    [ex] = load_examples(path, spec, None, ("a", "b", "c", "d"))
    assert ex.choices == ("Red", "Blue", "Green", "Black") and ex.gold == 1 and ex.label == "Blue"
    copa = load_text(
        'title = "c"\nkind = "multiple-choice"\ntemplate = "{premise}\\nAnswer: {answer}"\n'
        'answer = "answer"\nchoices = "options"\n',
        "copa.toml",
        "copa",
    )
    assert copa.choices == ("options",)
    rows = [
        {"premise": "p", "options": ["x", "y"], "answer": 1},
        {"premise": "p", "options": ["x", "y"], "answer": "x"},
        {"premise": "p", "options": {"text": ["x", "y"], "label": ["1", "2"]}, "answer": "2"},
    ]
    path = write(tmp_path, "c.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    assert [e.gold for e in load_examples(path, copa, None, copa.choices)] == [1, 0, 1]
    csv_path = write(tmp_path, "c.csv", 'premise,options,answer\np,"[""x"", ""y""]",B\n')
    assert load_examples(csv_path, copa, None, copa.choices)[0].gold == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"premise": "p", "options": ["x", "y"], "answer": "z"}, r"c.jsonl:1:51: the answer 'z'"),
        (
            {"premise": "p", "options": "x", "answer": "0"},
            r"c.jsonl:1: the choices field 'options'",
        ),
        ({"premise": "p", "options": ["x", ""], "answer": "0"}, r"c.jsonl:1: an option is empty"),
    ],
)
def test_bad_choices_are_located(tmp_path, row, message):
    spec = load_text(
        'title = "c"\nkind = "multiple-choice"\ntemplate = "{premise}\\nAnswer: {answer}"\n'
        'answer = "answer"\nchoices = "options"\n',
        "copa.toml",
        "copa",
    )
    path = write(tmp_path, "c.jsonl", json.dumps(row) + "\n")
    with pytest.raises(DataError, match=message):
        load_examples(path, spec, None, spec.choices)


def test_gold_index_reads_text_index_and_letter():
    opts = ("red", "blue", "7")
    assert gold_index("blue", opts) == 1 and gold_index("0", opts) == 0
    assert gold_index("C", opts) == 2 and gold_index("7", opts) == 2  # the text wins over index
    assert gold_index("D", opts) is None and gold_index("9", opts) is None


def test_acc_norm_divides_by_characters_and_tokens():
    scores = [ChoiceScore("a", -2.0, 1, 1), ChoiceScore("a longer one", -3.0, 3, 12)]
    # summed: the short one; per character: -0.25 beats -2; per token: -1 beats -2
    assert pick(scores) == (0, 1, 1)


def test_several_words_score_the_log_of_their_summed_probability():
    import math

    assert logsumexp([math.log(0.2), math.log(0.3)]) == pytest.approx(math.log(0.5))


@pytest.mark.parametrize(
    ("output", "gold", "same"),
    [
        (" 124", "124", True),
        ("124.", "124", True),
        ("124.0", "124", True),
        ("1,000", "1000", True),
        (" -19", "-19", True),
        ("19", "-19", False),
        (" Paris!", "paris", True),
        ("le  Fromage", "le fromage", True),
        ("12", "124", False),
    ],
)
def test_exact_match_normalises(output, gold, same):
    assert exact(output, gold) == float(same)


def test_contains_matches_whole_words():
    assert contains("The answer is 124.", "124") == 1.0
    assert contains("1245", "124") == 0.0
    assert normalize("  Hello,   World ") == "hello world"


def test_chrf_and_bleu_come_from_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    outs, golds = ["le fromage", "la maison bleue"], ["fromage", "la maison bleue"]
    want = sacrebleu.corpus_chrf(outs, [golds]).score / 100
    assert corpus_score("chrf", outs, golds) == pytest.approx(want)
    assert sentence_score("bleu", "la maison bleue", "la maison bleue") == pytest.approx(1.0)
    assert corpus_score("exact", outs, golds) == 0.5


def test_arithmetic_problems_are_drawn_from_a_seed():
    spec = load_prompt("arithmetic")
    task = parse_generate("2digit-add")
    test, pool = examples(spec, task, 50)
    again, _ = examples(spec, task, 50)
    assert test == again and len(pool) == 100
    assert all(int(e.fields["a"]) + int(e.fields["b"]) == int(e.label) for e in test)
    assert all(0 <= int(e.fields["a"]) < 100 for e in test)
    assert not {(e.fields["a"], e.fields["b"]) for e in test} & {
        (e.fields["a"], e.fields["b"]) for e in pool
    }
    other, _ = examples(spec, parse_generate("2digit-add:1"), 50)
    assert other != test
    sub, _ = examples(spec, parse_generate("3digit-sub"), 200)
    assert any(int(e.label) < 0 for e in sub) and max(int(e.fields["a"]) for e in sub) >= 100
    assert variables_for(spec, parse_generate("3digit-sub")) == {"op": "minus"}
    assert spec.render_query({"a": "3", "b": "4"}, {"op": "minus"}) == "Q: What is 3 minus 4?\nA:"


@pytest.mark.parametrize(
    ("text", "message"),
    [("2digit-mul", "is not an arithmetic task"), ("9digit-add", "is not an arithmetic task")],
)
def test_unknown_arithmetic_tasks_are_refused(text, message):
    with pytest.raises(UsageError, match=message):
        parse_generate(text)


def test_generate_needs_a_prompt_that_asks_the_operation():
    with pytest.raises(UsageError, match="two operand fields"):
        variables_for(load_prompt("sst2"), parse_generate("2digit-add"))
    plain = load_text(
        'title = "t"\nkind = "arithmetic"\ntemplate = "{x} plus {y} = {z}"\nanswer = "z"\n',
        "t.toml",
        "t",
    )
    assert variables_for(plain, parse_generate("2digit-add")) == {}
    with pytest.raises(UsageError, match="asks 'minus' questions"):
        variables_for(plain, parse_generate("2digit-sub"))


def test_example_demo_for_choices_shows_the_option_text():
    ex = Example({"q": "?"}, "Blue", 1, ("Red", "Blue"), 1)
    assert ex.as_demo("answer") == {"q": "?", "answer": "Blue"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["arithmetic", "--generate", "2digit-add", "--calibrate"], "--calibrate does not apply"),
        (["multiple-choice", "--data", "{mc}", "--samples", "3"], "--samples does not apply to"),
        (["arithmetic", "--generate", "2digit-add", "--data", "{trec}"], "use one"),
        (["arithmetic"], "give the test examples with --data FILE, or draw them"),
        (["arithmetic", "--generate", "2digit-mul"], "is not an arithmetic task"),
        (["arithmetic", "--generate", "2digit-add", "--metric", "f1"], "is not a metric"),
        (["multiple-choice", "--data", "{mc}", "--top-k", "5"], "--top-k does not apply to"),
        (["arithmetic", "--generate", "2digit-add", "--samples", "3"], "at temperature 0 draws"),
        (["{toml}", "--data", "{trec}"], "trec.jsonl:2:36: label 'QTY' is not one of"),
        (["multiple-choice", "--data", "{mc}", "--choices", "a,b,c,e"], "mc.jsonl:1: no choices"),
        (
            ["multiple-choice", "--data", "{mc}", "--choices", "a,b"],
            "mc.jsonl:1:69: the answer 'D'",
        ),
        (["sst2", "--prompts", ",", "--data", "{trec}"], "--prompts ',' names no prompt"),
        (  # the demonstrations' options cannot be found: blamed at the prompt's first example
            ["multiple-choice", "--data", "{mc}", "--choices", "options"],
            "multiple-choice.toml:18: the demonstrations are prompt 'multiple-choice''s "
            "examples, which hold no 'options' list",
        ),
    ],
)
def test_cli_errors_are_located_before_the_model_loads(tmp_path, args, message):
    from tests.conftest import run_cli

    toml = write(tmp_path, "trec.toml", TREC)
    trec = write(
        tmp_path,
        "trec.jsonl",
        '{"question": "How many?", "label": "NUM"}\n{"question": "How much?", "label": "QTY"}\n',
    )
    mc = write(
        tmp_path,
        "mc.jsonl",
        json.dumps(
            {
                "question": "q",
                "a": "1",
                "b": "2",
                "c": "3",
                "d": "4",
                "answer": "D",
                "options": ["one", "two", "three", "four"],
            }
        )
        + "\n",  # fmt: skip
    )
    args = [a.format(toml=toml, trec=trec, mc=mc) for a in args]
    result = run_cli("eval", *args)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error:") and "gemma" not in result.stderr  # no model load
