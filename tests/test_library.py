"""The prompt library without a model: schema, errors with positions, resolution, composing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gptplay.library import (
    Library,
    PromptError,
    assemble,
    check,
    compose,
    fit,
    list_prompts,
    load_prompt,
    load_text,
    split_inputs,
)

BUILTINS = sorted(p.stem for p in (Path(__file__).parents[1] / "prompt_library").glob("*.toml"))
REQUIRED = {
    "translate", "translate-zh", "sentiment", "topic", "entailment", "similarity",
    "multiple-choice", "arithmetic", "unscramble", "qa", "chat",
}  # fmt: skip

GOOD = """\
# a comment people wrote
title = "Opposites"
kind = "completion"
instruction = "Write the {relation} of each word."
template = "{word} -> {other}"
answer = "other"

[variables]
relation = "opposite"

[[examples]]
word = "hot"
other = "cold"

[[examples]]
word = "up"
other = "down"
"""


def errors_of(text: str) -> list[str]:
    spec, errors = check(text, "p.toml", "p")
    assert (spec is None) == bool(errors)
    return [e.message for e in errors]


def test_builtins_are_the_required_set_with_enough_examples():
    assert len(BUILTINS) >= 12 and set(BUILTINS) >= REQUIRED
    for name in BUILTINS:
        # the chat scaffold keeps three: more example turns were copied into replies
        assert len(load_prompt(name).examples) >= (3 if name == "chat" else 8), name


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_renders_at_zero_one_and_all_shots(name):
    spec = load_prompt(name)
    assert spec.builtin and spec.title and spec.stop
    query = {f: f"<{f}>" for f in spec.query_fields}
    zero = compose(spec, 0, query)
    assert zero.demonstrations == ()
    expected_query = spec.render_query(query)
    assert zero.text == (
        zero.instruction + spec.joiner + expected_query if spec.instruction else expected_query
    )
    for k in (1, len(spec.examples)):
        c = compose(spec, k, query)
        assert c.shots == k and c.text.endswith(spec.separator + c.query)
        for demo, text in zip(c.demonstrations, c.demo_texts):
            assert text in c.text
            # a demonstration is its query cut followed by the answer's continuation
            cut = {f: demo[f] for f in spec.query_fields}
            assert text == spec.render_query(cut) + spec.continuation(demo[spec.answer])
        assert not c.text.endswith((" ", "\t"))
    for demo in spec.examples:
        if spec.labels:
            assert demo[spec.answer] in spec.labels


def test_builtin_demonstrations_are_correct():
    for ex in load_prompt("arithmetic").examples:
        assert 10 <= int(ex["a"]) <= 99 and 10 <= int(ex["b"]) <= 99
        assert int(ex["a"]) + int(ex["b"]) == int(ex["sum"])
    for ex in load_prompt("unscramble").examples:
        assert sorted(ex["scrambled"]) == sorted(ex["word"]) and ex["scrambled"] != ex["word"]
    for name in ("sentiment", "topic", "entailment", "similarity", "multiple-choice"):
        spec = load_prompt(name)
        used = {ex[spec.answer] for ex in spec.examples}
        assert used == set(spec.labels), name  # every label is demonstrated
    zh = load_prompt("translate-zh")
    assert all(any(ord(ch) > 0x2E80 for ch in ex["chinese"]) for ex in zh.examples)


def test_translate_is_the_gpt3_format():
    c = compose(load_prompt("translate"), 1, {"english": "cheese"})
    assert c.text == "Translate English to French:\nsea otter => loutre de mer\ncheese =>"
    assert c.continuation("fromage") == " fromage" and c.stop == ("\n",)


def test_sentiment_format_and_labels():
    spec = load_prompt("sentiment")
    assert spec.labels == ("positive", "negative")
    assert spec.render_demo({"sentence": "Great.", "label": "positive"}) == (
        "Review: Great.\nSentiment: positive"
    )
    assert spec.render_query({"sentence": "Great."}) == "Review: Great.\nSentiment:"


def test_chat_scaffold_roles_and_stop():
    spec = load_prompt("chat")
    roles = spec.chat_roles()
    assert (roles.user_prefix, roles.assistant_prefix) == ("User:", "Assistant:")
    assert "\nUser:" in spec.stop
    assert spec.chat_roles({"name": "Ada"}).assistant_prefix == "Ada:"
    c = compose(spec, 0, {"user": "Hi"}, {"name": "Ada"})
    assert c.text.endswith("\n\nUser: Hi\nAda:") and "with Ada," in c.text


def test_variables_defaults_overrides_and_missing():
    spec = load_text(GOOD, "p.toml", "p")
    assert compose(spec, 1, {"word": "big"}).text.startswith("Write the opposite of")
    assert compose(spec, 0, {"word": "big"}, {"relation": "synonym"}).text == (
        "Write the synonym of each word.\nbig ->"
    )
    required = GOOD.replace('relation = "opposite"', 'relation = { description = "a relation" }')
    spec = load_text(required, "p.toml", "p")
    with pytest.raises(PromptError, match="needs the variable 'relation'"):
        compose(spec, 1, {"word": "big"})
    with pytest.raises(PromptError, match="has no variable 'colour'"):
        compose(spec, 1, {"word": "big"}, {"colour": "red"})


def test_split_inputs_fills_first_field_and_named_fields():
    spec = load_prompt("entailment")
    fields, variables = split_inputs(spec, "A dog runs.", {"hypothesis": "An animal moves."})
    assert fields == {"premise": "A dog runs.", "hypothesis": "An animal moves."}
    assert variables == {}
    with pytest.raises(PromptError, match="no field or variable 'colour'"):
        split_inputs(spec, "x", {"colour": "red"})
    with pytest.raises(PromptError, match="field 'hypothesis'"):
        compose(spec, 0, {"premise": "A dog runs."})


def test_more_shots_than_examples_says_how_many():
    with pytest.raises(PromptError, match=r"\(10 examples\)"):
        compose(load_prompt("translate"), 11, {"english": "x"})


def test_random_selection_is_reproducible_and_reported():
    spec = load_prompt("topic")
    a = compose(spec, 4, {"text": "x"}, select="random", seed=3)
    b = compose(spec, 4, {"text": "x"}, select="random", seed=3)
    assert a.text == b.text and a.seed == 3
    firsts = compose(spec, 4, {"text": "x"})
    others = [compose(spec, 4, {"text": "x"}, select="random", seed=s).text for s in range(5)]
    assert any(t != firsts.text for t in others)
    fresh = compose(spec, 2, {"text": "x"}, select="random")
    assert fresh.seed is not None
    assert compose(spec, 2, {"text": "x"}, select="random", seed=fresh.seed).text == fresh.text


def test_fit_drops_demonstrations_from_the_end():
    spec = load_prompt("translate")
    c = compose(spec, 6, {"english": "cheese"})
    count = len  # characters stand in for tokens here
    limit = len(compose(spec, 4, {"english": "cheese"}).text)
    fitted, dropped, n = fit(c, count, limit)
    assert dropped == 2 and fitted.shots == 4 and n == limit
    assert fitted.demonstrations == c.demonstrations[:4]
    with pytest.raises(PromptError, match="even with no demonstrations"):
        fit(c, count, 5)


def test_assemble_with_external_demonstrations():
    spec = load_prompt("sentiment")
    demos = [{"sentence": "Fine film.", "label": "positive"}]
    c = assemble(spec, demos, {"sentence": "Awful."})
    assert "Review: Fine film.\nSentiment: positive\n\nReview: Awful.\nSentiment:" in c.text


@pytest.mark.parametrize(
    ("mutation", "where", "needle"),
    [
        (('title = "Opposites"', 'title = "Opposites"\ncolour = 3'), "3:1", "unknown key 'colour'"),
        (('kind = "completion"', 'kind = "poem"'), "3:1", "unknown kind 'poem'"),
        (('word = "up"\n', ""), "15:1", "missing the field 'word'"),
        (('word = "up"', 'word = "up"\nextra = "x"'), "17:1", "'extra' is not a field"),
        (('other = "down"', "other = 4"), "17:1", "'other' must be a string"),
        (("{word} -> {other}", "{word} -> {other} {more}"), "5:1", "must end with {other}"),
        (('answer = "other"', 'answer = "nope"'), "6:1", "answer 'nope' is not a field"),
        (("{relation}", "{relation} {tone}"), "4:1", "placeholder '{tone}' is not a variable"),
        (('relation = "opposite"', 'relation = "opposite"\nunused = "x"'), "10:1", "'unused'"),
        (("{word} -> {other}", "{word -> {other}"), "5:1", "a lone '{'"),
        (('title = "Opposites"\n', ""), "1:1", "missing 'title'"),
        (('word = "hot"', 'word = "hot'), "12:12", "not valid TOML: Illegal character '\\n'"),
    ],
)
def test_problems_name_line_and_column(mutation, where, needle):
    text = GOOD.replace(*mutation)
    assert text != GOOD
    messages = errors_of(text)
    assert any(m.startswith(f"p.toml:{where}: ") and needle in m for m in messages), messages


def test_labels_and_params_are_checked():
    text = GOOD.replace('answer = "other"', 'answer = "other"\nlabels = ["cold"]')
    assert any("'down' is not one of the labels" in m for m in errors_of(text))
    text = GOOD + "\n[params]\ntemprature = 1\n"
    assert any("unknown parameter 'temprature'" in m for m in errors_of(text))
    text = GOOD + '\n[params]\nmax_tokens = "many"\n'
    assert any("'max_tokens' must be an integer" in m for m in errors_of(text))


def test_load_text_raises_the_first_problem_and_counts_the_rest():
    bad = GOOD.replace('kind = "completion"', 'kind = "poem"\ncolour = 1')
    with pytest.raises(PromptError) as info:
        load_text(bad, "p.toml", "p")
    assert re.match(r"p\.toml:\d+:\d+: ", info.value.message)
    assert "1 more problem" in info.value.hint


def test_user_library_shadows_builtin_and_env_and_flag_dirs(tmp_path, user_dirs, monkeypatch):
    prompts = user_dirs / "prompts"
    prompts.mkdir(parents=True)
    (prompts / "translate.toml").write_text(GOOD.replace("Opposites", "Mine"))
    entries = {e.name: e for e in list_prompts()}
    assert entries["translate"].origin == "user" and entries["translate"].shadows_builtin
    assert entries["sentiment"].origin == "built-in"
    assert load_prompt("translate").title == "Mine"
    env_dir, flag_dir = tmp_path / "env", tmp_path / "flag"
    env_dir.mkdir()
    flag_dir.mkdir()
    (env_dir / "translate.toml").write_text(GOOD.replace("Opposites", "From env"))
    monkeypatch.setenv("GPTPLAY_LIBRARY", str(env_dir))
    assert load_prompt("translate").title == "From env"
    (flag_dir / "translate.toml").write_text(GOOD.replace("Opposites", "From flag"))
    assert load_prompt("translate", library=flag_dir).title == "From flag"
    assert Library.default(flag_dir).save_dir == flag_dir


def test_unknown_names_and_escaping_names():
    with pytest.raises(PromptError, match="did you mean translate"):
        load_prompt("transalte")
    for bad in ("../x", "a/b", ".hidden", "x..y"):
        with pytest.raises(PromptError, match="escape the library directory"):
            Library.default().user_path(bad)
    with pytest.raises(PromptError, match="no prompt file"):
        load_prompt("missing.toml")


def test_the_documented_example_file_is_valid():
    doc = (Path(__file__).parents[1] / "docs" / "library.md").read_text()
    example = doc.split("```toml\n")[1].split("```")[0]
    spec = load_text(example, "docs/library.md", "antonyms")
    assert spec.variables["relation"].default == "opposite" and len(spec.examples) == 2
    assert compose(spec, 2, {"word": "big"}).text == (
        "Write the opposite of each word.\nhot -> cold\nearly -> late\nbig ->"
    )


def test_a_query_is_left_out_of_its_own_demonstrations_unless_allowed():
    # issue 24 item 23: `fewshot translate --shots 2 --input "sea otter"` showed its answer
    from gptplay.library import compose, load_prompt
    from gptplay.tui.composition import Composition

    spec = load_prompt("translate")
    assert spec.examples[0]["english"] == "sea otter"
    c = compose(spec, 2, {"english": " sea otter "})
    assert c.left_out == 1 and "loutre" not in c.text
    assert [d["english"] for d in c.demonstrations] == ["peppermint", "plush giraffe"]
    assert "--allow-query-in-demos" in c.left_out_note()
    kept = compose(spec, 2, {"english": "sea otter"}, allow_query=True)
    assert kept.left_out == 0 and "sea otter => loutre de mer" in kept.text
    assert compose(spec, 2, {"english": "otter"}).left_out == 0  # only an exact match
    with pytest.raises(PromptError, match=r"1 equal to the query left out"):
        compose(spec, len(spec.examples), {"english": "sea otter"})
    # the TUI's composer: the same rule, the same library code
    comp = Composition.of(spec, 2)
    comp.query = {"english": "sea otter"}
    composed = comp.compose()
    assert composed.left_out == 1 and composed.shots == 1 and "loutre" not in composed.text
    comp.allow_query = True
    assert comp.compose().left_out == 0 and "loutre de mer" in comp.compose().text


def test_fewshot_and_compare_say_when_they_leave_the_query_out():
    from tests.cli_support import invoke

    ran = invoke("fewshot", "translate", "sea otter", "--shots", "2", "--dry-run")
    assert ran.exit_code == 0, ran.error
    assert "loutre" not in ran.stdout and "note: left out an example equal to the query" in (
        ran.stderr
    )
    kept = invoke("fewshot", "translate", "sea otter", "-k", "2", "--dry-run",
                  "--allow-query-in-demos")  # fmt: skip
    assert "sea otter => loutre de mer" in kept.stdout and "note:" not in kept.stderr
    compared = invoke("compare", "translate", "-k", "1,2", "-i", "sea otter", "--json")
    assert compared.exit_code == 0, compared.error
    prompts = [json.loads(line)["prompt"] for line in compared.stdout.splitlines()[:-1]]
    assert len(prompts) == 2 and not any("loutre" in p for p in prompts)
    assert "note: left out an example equal to the query" in compared.stderr
