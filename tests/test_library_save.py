"""Saving prompts: comments and layout survive a changed value; writes are atomic and valid."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from gptplay.library import (
    PromptError,
    Variable,
    atomic_write,
    load_file,
    load_prompt,
    load_text,
    render_toml,
    save_spec,
)

COMMENTED = """\
# My French prompt. Keep this comment!
title = "French"   # trailing comment
kind = "translation"
instruction = "Translate English to French:"
template = "{english} => {french}"
answer = "french"
stop = ["\\n"]

# sampling defaults I tuned by hand
[params]
temperature = 0    # greedy
max_tokens = 32

[[examples]]
# the classic one
english = "sea otter"
french = "loutre de mer"

[[examples]]
english = "cheese"
french = "fromage"
"""


def test_changing_one_value_keeps_every_comment(tmp_path):
    path = tmp_path / "french.toml"
    path.write_text(COMMENTED)
    spec = load_file(path)
    changed = replace(spec, params=MappingProxyType({"temperature": 0.7, "max_tokens": 32}))
    text = save_spec(changed, path)
    assert path.read_text() == text
    before, after = COMMENTED.splitlines(), text.splitlines()
    diff = [(a, b) for a, b in zip(before, after) if a != b]
    assert len(before) == len(after) and len(diff) == 1
    assert diff[0][1].startswith("temperature = 0.7")
    for line in before:
        if "#" in line and not line.startswith("temperature"):
            assert line in after
    assert load_file(path).params["temperature"] == 0.7


def test_changing_an_example_keeps_other_comments(tmp_path):
    path = tmp_path / "french.toml"
    path.write_text(COMMENTED)
    spec = load_file(path)
    examples = (spec.examples[0], MappingProxyType({"english": "bread", "french": "pain"}))
    text = save_spec(replace(spec, examples=examples), path)
    assert "# the classic one" in text and "# My French prompt. Keep this comment!" in text
    assert "# trailing comment" in text and 'english = "bread"' in text
    assert load_file(path).examples[1]["french"] == "pain"


def test_new_file_round_trips_every_builtin(tmp_path):
    for name in ("chat", "multiple-choice", "translate-zh", "sentiment"):
        spec = load_prompt(name)
        path = tmp_path / f"{name}.toml"
        text = save_spec(spec, path, header="saved by a test")
        assert text.startswith("# saved by a test\n")
        again = load_file(path)
        for attr in ("title", "kind", "instruction", "template", "answer", "separator"):
            assert getattr(again, attr) == getattr(spec, attr), (name, attr)
        assert again.examples == spec.examples and again.labels == spec.labels
        assert dict(again.params) == dict(spec.params) and again.stop == spec.stop
        assert dict(again.variables) == dict(spec.variables)
        assert "你好" in text or name != "translate-zh"  # written as UTF-8, not escaped


def test_variable_defaults_are_saved():
    spec = load_prompt("chat")
    variables = {"name": Variable("name", "Ada", "the assistant's name")}
    text = render_toml(replace(spec, variables=MappingProxyType(variables)))
    assert load_text(text).variables["name"].default == "Ada"


def test_refuses_to_write_an_invalid_prompt(tmp_path):
    path = tmp_path / "french.toml"
    path.write_text(COMMENTED)
    spec = load_file(path)
    with pytest.raises(PromptError, match="refusing to write an invalid prompt"):
        save_spec(replace(spec, kind="poem"), path)
    assert path.read_text() == COMMENTED


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "sub" / "x.toml"
    atomic_write(path, "a = 1\n")
    atomic_write(path, "a = 2\n")
    assert path.read_text() == "a = 2\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.toml"]

    class Boom(str):
        def __str__(self):
            raise RuntimeError("boom")

    with pytest.raises(TypeError):
        atomic_write(path, 3)  # type: ignore[arg-type]
    assert path.read_text() == "a = 2\n"
    assert [p.name for p in path.parent.iterdir()] == ["x.toml"]


def test_examples_can_shrink_grow_and_empty():
    spec = load_text(COMMENTED)
    extra = MappingProxyType({"english": "bread", "french": "pain"})
    for examples in (spec.examples[:1], (*spec.examples, extra), ()):
        text = render_toml(replace(spec, examples=examples), COMMENTED)
        assert load_text(text).examples == examples
        assert "# sampling defaults I tuned by hand" in text
