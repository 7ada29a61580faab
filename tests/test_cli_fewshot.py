"""`gptplay fewshot` on the real embedded model, and its error paths."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.model


def clean_error(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_translate_three_shot_answers_in_french(model_path):
    proc = run_cli(
        "fewshot", "translate", "--shots", "3", "--input", "cheese", "--temperature", "0"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "fromage"
    assert "translate · 3-shot · prompt " in proc.stderr and "context tokens" in proc.stderr
    assert "finish: stop" in proc.stderr


def test_json_has_prompt_tokens_and_summary(model_path):
    proc = run_cli(
        "fewshot", "sentiment", "-k", "4", "A joyless, tedious film.", "--json", "-t", "0"
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    head, tokens, summary = records[0], records[1:-1], records[-1]
    assert head["type"] == "prompt" and head["shots"] == 4 and head["task"] == "sentiment"
    assert head["text"].endswith("Review: A joyless, tedious film.\nSentiment:")
    assert head["prompt_tokens"] == summary["prompt_tokens"] and head["n_ctx"] == 4096
    assert all(t["type"] == "token" and t["logprob"] <= 0 for t in tokens)
    assert summary["text"].strip() in ("positive", "negative")
    assert "".join(t["text"] for t in tokens) == summary["text"]


def test_zero_shot_prompt_is_instruction_and_query(model_path):
    proc = run_cli("fewshot", "translate", "-k", "0", "cheese", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "Translate English to French:\ncheese =>\n"
    assert "zero-shot" in proc.stderr


def test_stdin_vars_and_random_selection(model_path):
    args = ("fewshot", "entailment", "-k", "3", "--var", "hypothesis=An animal moves.")
    args += ("--select", "random", "--seed", "4", "--dry-run")
    one = run_cli(*args, input="A dog runs in the park.\n")
    two = run_cli(*args, input="A dog runs in the park.\n")
    assert one.returncode == 0, one.stderr
    assert one.stdout == two.stdout and "seed 4" in one.stderr
    assert one.stdout.endswith(
        "Premise: A dog runs in the park.\nHypothesis: An animal moves.\nRelation:\n"
    )
    assert one.stdout.count("Premise:") == 4


def test_fit_drops_demonstrations_and_says_how_many(model_path, user_dirs):
    long_input = "word " * 300
    args = ("fewshot", "topic", "-k", "12", long_input, "--ctx", "512", "-n", "4", "--dry-run")
    clean_error(run_cli(*args), "context holds 512", "--fit")
    proc = run_cli(*args, "--fit", "--save-as", "fitted")
    assert proc.returncode == 0, proc.stderr
    assert "dropped" in proc.stderr and "to fit" in proc.stderr
    dropped = int(proc.stderr.split("dropped ")[1].split()[0])
    assert 0 < dropped < 12
    assert proc.stdout.count("Article:") == 12 - dropped + 1
    saved = (user_dirs / "prompts" / "fitted.toml").read_text()
    assert saved.count("[[examples]]") == 12 - dropped


def test_save_as_writes_the_composed_prompt(user_dirs, model_path):
    args = ("fewshot", "translate", "-k", "2", "--select", "random", "--seed", "9", "cheese")
    proc = run_cli(*args, "-t", "0.3", "--save-as", "fr2", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    saved = user_dirs / "prompts" / "fr2.toml"
    text = saved.read_text()
    assert text.count("[[examples]]") == 2 and "temperature = 0.3" in text
    demos = [line for line in proc.stdout.splitlines() if "=>" in line][:2]
    for line in demos:
        english = line.split(" => ")[0]
        assert f'english = "{english}"' in text
    # Saving again with one value changed keeps a comment the user added.
    saved.write_text(text.replace("[params]", "# tuned by me\n[params]"))
    again = run_cli(
        "fewshot", "fr2", "-k", "2", "cheese", "-t", "0.5", "--save-as", "fr2", "--dry-run"
    )
    assert again.returncode == 0, again.stderr and "updated" in again.stderr
    now = saved.read_text()
    assert "# tuned by me" in now and "temperature = 0.5" in now
    assert now.replace("0.5", "0.3") == text.replace("[params]", "# tuned by me\n[params]")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("transalte", "cheese"), ("no prompt named 'transalte'", "did you mean translate")),
        (("translate", "-k", "40", "cheese"), ("(10 examples)",)),
        (("entailment", "A dog runs."), ("field 'hypothesis'", "--var hypothesis=")),
        (("chat", "hi", "--var", "colour=red"), ("no field or variable 'colour'",)),
        (("chat", "hi", "--var", "oops"), ("is not KEY=VALUE",)),
        (("translate", "cheese", "--save-as", "../x"), ("escape the library directory",)),
        (("../x", "cheese"), ("no prompt file ../x",)),
        (("translate", "cheese", "--select", "best"), ("unknown selection 'best'",)),
    ],
)
def test_bad_input_is_one_readable_line(args, needles, user_dirs):
    proc = run_cli("fewshot", *args, "--dry-run")
    clean_error(proc, *needles)
    assert not (user_dirs / "prompts").exists()


def test_broken_user_prompt_names_file_line_col(user_dirs):
    (user_dirs / "prompts").mkdir(parents=True)
    bad = user_dirs / "prompts" / "translate.toml"
    bad.write_text('title = "x"\nkind = "translation"\ntemplate = "{a} => {b}\nanswer = "b"\n')
    clean_error(run_cli("fewshot", "translate", "cheese"), f"{bad}:3:")
