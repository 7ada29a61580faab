"""Random and mangled prompt TOML only ever produces the library's own error, with a position."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gptplay.library import PromptError, check, compose, load_text, split_inputs

SOURCES = [
    p.read_text() for p in sorted((Path(__file__).parents[1] / "prompt_library").glob("*.toml"))
]
POSITION = re.compile(r"^m\.toml:\d+:\d+: \S")
PIECES = st.sampled_from(
    ['"', "'", '"""', "[", "]", "[[examples]]", "{", "}", "{{", "=", "\n", "#", ",", ".", "\\",
     "[params]", "[variables]", "answer = ", "template = ", "labels = [", "1", "true", "é", "你"]
)  # fmt: skip


@st.composite
def mangled(draw) -> str:
    """A built-in prompt file with a few random cuts, insertions and swaps."""
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        j = min(len(text), i + draw(st.integers(0, 40)))
        op = draw(st.sampled_from(["cut", "insert", "replace", "dup-line"]))
        if op == "cut":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.one_of(PIECES, st.text(max_size=8))) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(PIECES) + text[j:]
        else:
            lines = text.splitlines(keepends=True)
            k = draw(st.integers(0, max(0, len(lines) - 1)))
            text = "".join(lines[: k + 1] + lines[k:])
    return text


def exercise(text: str) -> None:
    """Validate text; a valid result must also compose at every number of shots."""
    spec, errors = check(text, "m.toml", "m")
    for e in errors:
        assert isinstance(e, PromptError) and POSITION.match(e.message), e.message
    if spec is None:
        try:
            load_text(text, "m.toml", "m")
        except PromptError as exc:
            assert POSITION.match(exc.message)
        else:
            raise AssertionError("load_text accepted what check rejected")
        return
    for k in range(len(spec.examples) + 1):
        try:
            fields, variables = split_inputs(spec, "query text")
            fields.update({f: "x" for f in spec.query_fields if f not in fields})
            composed = compose(spec, k, fields, variables)
        except PromptError:
            continue  # e.g. a variable without a default: the library's own error
        assert composed.text.endswith(composed.query)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled())
def test_mangled_builtins_give_only_prompt_errors(text):
    exercise(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_gives_only_prompt_errors(text):
    exercise(text)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=10),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )
)
def test_random_toml_documents_give_only_prompt_errors(value):
    import tomlkit

    doc = {"title": "t", "kind": "qa", "template": "{q} {a}", "answer": "a"}
    doc["examples" if isinstance(value, list) else "params"] = value
    try:
        text = tomlkit.dumps({k: v for k, v in doc.items() if v is not None})
    except Exception:  # tomlkit cannot write None inside arrays; not the library's concern
        return
    exercise(text)
