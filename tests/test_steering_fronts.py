"""Output constraints in every front end (issue 21, front-end part), on a scripted engine:
the TUI's inspector, status line and fields, chat's /set, compare's constraint axis,
the history's record of constrained tokens. The real model's runs are in
test_steering_fronts_model.py.
"""

from __future__ import annotations

import json
import math

import pytest
from steer_support import CONSTRAINED_P, SteeredFake, steer
from textual.widgets import Input
from tui_support import REPLY, SIZE, fake_app, idle, ready, sync, wait_until

from gptplay.chat import ChatSession, ScaffoldFormat
from gptplay.chat.slash import handle
from gptplay.engine.types import Alternative, SamplingParams, TokenEvent
from gptplay.errors import UsageError
from gptplay.history import codec
from gptplay.library import load_prompt
from gptplay.settings import SettingError, parse_text
from gptplay.settings.schema import SESSION, setting
from gptplay.tui.inspector import Inspector, heading
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.status import status_text
from gptplay.tui.token_view import TokenView
from tests.cli_support import invoke

GRAMMAR = 'root ::= " "? [0-9]+'
MULTI = 'root ::= answer\nanswer ::= "yes" | "no"\n'


# --- the settings table: the constraints are session settings, typed as text -----------


def test_the_constraints_may_be_set_in_a_session():
    for name in ("grammar", "json_schema", "choices", "logit_bias"):
        assert SESSION in setting(name).where


def test_constraints_typed_as_text_read_as_their_flags_do(tmp_path):
    gbnf = tmp_path / "digits.gbnf"
    gbnf.write_text(MULTI)
    assert parse_text("choices", "positive,negative") == ("positive", "negative")
    assert parse_text("choices", "none") == ()
    assert parse_text("logit_bias", " positive=ban,1234=2") == (" positive=ban", "1234=2")
    assert parse_text("logit_bias", "a\\,b=1") == ("a,b=1",)  # \, a comma inside an entry
    assert parse_text("grammar", GRAMMAR) == GRAMMAR
    assert parse_text("grammar", str(gbnf)) == MULTI  # a path: the file's grammar
    assert parse_text("grammar", "none") is None
    assert parse_text("json_schema", '{"type": "object"}') == '{"type": "object"}'
    with pytest.raises(SettingError) as err:
        parse_text("choices", "a,a")
    assert "given twice" in err.value.problem
    with pytest.raises(SettingError) as err:
        parse_text("grammar", 'root ::= "a')
    assert err.value.problem  # the grammar's own syntax error, with where
    with pytest.raises(UsageError) as err:
        parse_text("grammar", str(tmp_path / "missing.gbnf"))
    assert "cannot read the grammar file" in err.value.message


# --- chat: /set per turn, flags per session --------------------------------------------


def chat(engine=None, params: SamplingParams | None = None) -> ChatSession:
    engine = engine or SteeredFake(n_ctx=4096)
    params = params or SamplingParams(temperature=0, max_tokens=8, seed=1)
    return ChatSession(engine, ScaffoldFormat(load_prompt("chat")), params)


def test_set_takes_choices_a_quoted_logit_bias_and_a_whole_line_grammar():
    s = chat()
    handle(s, "/set choices=positive,negative")
    assert s.params.choices == ("positive", "negative")
    handle(s, '/set logit_bias=" positive=ban,7=2" temperature=0.5')
    assert s.params.logit_bias == (" positive=ban", "7=2") and s.params.temperature == 0.5
    handle(s, f"/set grammar={GRAMMAR}")  # spaces and quotes of its own: the rest of the line
    assert s.params.grammar == GRAMMAR
    assert s.params.choices == ()  # one constraint replaces another, as a layer does
    line = handle(s, "/set").notes[0].text
    assert "grammar='root ::= \" \"? [0-9]+'" in line
    assert 'logit_bias=" positive=ban,7=2"' in line  # quoted as /set reads it back
    handle(s, "/set grammar=none")
    assert s.params.grammar is None and s.params.constraint() is None


def test_a_bad_constraint_in_set_is_one_line_and_changes_nothing():
    s = chat()
    before = s.params
    for line, needle in [
        ("/set choices=a,a", "given twice"),
        ("/set logit_bias=x=lots", "not a number or 'ban'"),
        ('/set grammar=root ::= "a', "grammar"),
    ]:
        with pytest.raises(UsageError) as err:
            handle(s, line)
        assert needle in err.value.message and "\n" not in err.value.message
    assert s.params == before


def test_a_constrained_reply_reports_its_grammar_and_alts_show_both_probabilities():
    engine = SteeredFake(n_ctx=4096)
    engine.enqueue([" 4", "2"])
    s = chat(engine)
    handle(s, f"/set grammar={GRAMMAR}")
    outcome = handle(s, "What is 40 + 2?")
    reply = outcome.reply(None)
    reply.finish()
    from gptplay.chat.slash import after_reply

    assert engine.params[-1].grammar == GRAMMAR
    assert "grammar: complete" in after_reply(reply)[-1].text
    events, _ = handle(s, "/alts 3").alternatives
    assert all(e.constrained_logprob == pytest.approx(math.log(CONSTRAINED_P)) for e in events)


def test_chat_flags_constrain_every_turn_of_the_session(user_dirs):
    engine = SteeredFake(n_ctx=4096)
    engine.enqueue(["positive"])
    ran = invoke("chat", "--choice", "positive,negative", "-t", "0", engine=engine, input="Hi\n")
    assert ran.exit_code == 0, ran.error
    assert engine.params[-1].choices == ("positive", "negative")
    assert "grammar: complete" in ran.stderr


# --- the TUI: inspector, status line, fields ---------------------------------------------


def test_the_inspector_heading_shows_both_probabilities_and_what_was_ruled_out():
    alts = (
        Alternative(1, b"4", math.log(0.5)),
        Alternative(2, b" four", math.log(0.3)),
        Alternative(3, b"\n", math.log(0.2)),
    )
    event = steer(TokenEvent(1, b"4", "4", math.log(0.5), alts))
    text = str(heading(event, 0))
    assert "p 50.0%" in text and "constrained p 90.0%" in text
    assert "✗ 1 ruled out" in text
    plain = str(heading(TokenEvent(1, b"4", "4", math.log(0.5), alts), 0))
    assert "constrained" not in plain and "ruled out" not in plain


def test_the_status_line_says_grammar_and_json_verdicts():
    from dataclasses import replace

    from gptplay.engine.types import Completion

    c = Completion(2, 5, "stop", 1, "fake", 0.1, 0.01)
    assert "grammar" not in str(status_text("done", c, 2, 5, 512, 0))
    text = str(status_text("done", replace(c, complete=False), 2, 5, 512, 0))
    assert "grammar incomplete" in text
    text = str(status_text("done", replace(c, complete=True, schema_valid=False), 2, 5, 512, 0))
    assert "grammar complete" in text and "JSON invalid" in text


@sync
async def test_tui_fields_constrain_the_run_and_the_inspector_marks_alternatives(tmp_path):
    gbnf = tmp_path / "yesno.gbnf"
    gbnf.write_text(MULTI)
    engine = SteeredFake()
    engine.enqueue(REPLY)
    engine.enqueue(REPLY)
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(ParamsPanel)
        panel.query_one("#p-choices", Input).value = "positive,negative"
        panel.query_one("#p-logit_bias", Input).value = "x=ban"
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        assert engine.params[-1].choices == ("positive", "negative")
        assert engine.params[-1].logit_bias == ("x=ban",)
        status = str(app.query_one("#status").render())
        assert "grammar complete" in status
        await pilot.press("ctrl+o", "home")
        inspector = app.query_one(Inspector)
        head = str(inspector.get_option_at_index(0).prompt)
        assert "constrained p 90.0%" in head and "p 50.0%" in head
        second = str(inspector.get_option_at_index(2).prompt)
        assert "✗" in second  # the fake's second alternative was ruled out
        assert "✗" not in str(inspector.get_option_at_index(1).prompt)
        # a grammar file replaces the choices; 'none' in choices is no choices
        panel.query_one("#p-choices", Input).value = "none"
        panel.query_one("#p-grammar", Input).value = str(gbnf)
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: len(engine.params) == 2 and idle(app)())
        assert engine.params[-1].grammar == MULTI and engine.params[-1].choices == ()
        assert len(app.query_one(TokenView).tokens) == len(REPLY)


@sync
async def test_a_multi_line_grammar_is_summed_up_in_its_field_and_kept_unless_edited():
    from gptplay.settings import Layer, resolve

    app, engine = fake_app(SteeredFake())
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        panel = app.query_one(ParamsPanel)
        panel.fill(resolve([Layer("flag", {"grammar": MULTI})]))
        field = panel.query_one("#p-grammar", Input)
        assert field.value.startswith("(3-line grammar") or field.value.startswith("(2-line")
        assert panel.params().grammar == MULTI  # the summary is not read as a grammar
        field.value = "root ::= [0-9]"
        assert panel.params().grammar == "root ::= [0-9]"
        field.value = 'root ::= "a'
        with pytest.raises(UsageError) as err:
            panel.params()
        assert err.value.message.startswith("grammar: ")


# --- compare: a constraint as an axis ---------------------------------------------------


def test_compare_a_repeated_constraint_flag_is_an_axis_with_none_unconstrained(user_dirs, tmp_path):
    gbnf = tmp_path / "digits.gbnf"
    gbnf.write_text(GRAMMAR + "\n")
    engine = SteeredFake()
    ran = invoke(
        "compare", "translate", "--input", "cheese", "--shots", "1", "-t", "0",
        "--grammar", "none", "--grammar", str(gbnf), "--json", "--no-history", engine=engine,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.error
    grammars = sorted(p.grammar or "" for p in engine.params)
    assert grammars == ["", GRAMMAR + "\n"]
    records = [json.loads(line) for line in ran.stdout.splitlines()]
    labels = [r["label"] for r in records if r["type"] == "variant"]
    assert labels == ["no grammar", "grammar digits.gbnf"]
    constrained = [
        [t.get("constrained_logprob") for t in r["tokens"]]
        for r in records
        if r["type"] == "variant"
    ]
    assert all(v is None for v in constrained[0])
    assert all(v == pytest.approx(math.log(CONSTRAINED_P)) for v in constrained[1])


def test_compare_columns_show_constrained_probabilities_where_present(user_dirs):
    engine = SteeredFake()
    ran = invoke(
        "compare", "translate", "--input", "cheese", "--shots", "1", "-t", "0",
        "--choice", "none", "--choice", "fromage,lait", "--layout", "rows",
        "--no-history", engine=engine,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.error
    assert engine.params[0].choices == () or engine.params[1].choices == ()
    assert "choices fromage,lait" in ran.stdout and "no choices" in ran.stdout
    assert "constrained" in ran.stdout and "mean -0.105" in ran.stdout  # ln 0.9
    assert ran.stdout.count("grammar complete") == 1


def test_compare_a_bad_constraint_value_fails_before_any_model_loads(user_dirs):
    engine = SteeredFake()
    ran = invoke(
        "compare", "translate", "--input", "cheese",
        "--grammar", "none", "--grammar", 'root ::= "a', engine=engine,
    )  # fmt: skip
    assert ran.exit_code == 2 and ran.error.startswith("--grammar")
    assert not engine.loads
    ran = invoke(
        "compare", "translate", "--input", "cheese", "--choice", "a", "--choice", "a",
        engine=engine,
    )  # fmt: skip
    assert ran.exit_code == 2 and "same value twice" in ran.error


# --- history: constrained tokens are recorded and shown ---------------------------------


def test_the_codec_keeps_constrained_probabilities_and_allowed_flags():
    alts = (Alternative(5, b"a", -0.5), Alternative(6, b"b", -1.5), Alternative(7, b"c", -2.0))
    events = (
        steer(TokenEvent(5, b"a", "a", -0.5, alts)),
        TokenEvent(6, b"b", "b", -1.5, alts),  # an unconstrained token beside it
    )
    back = codec.decode(codec.encode(events))
    assert back[0].constrained_logprob == pytest.approx(math.log(CONSTRAINED_P))
    assert [a.allowed for a in back[0].top] == [True, False, True]
    assert back[1].constrained_logprob is None
    assert [a.allowed for a in back[1].top] == [None, None, None]


def test_history_show_displays_a_constrained_run_as_complete_did(user_dirs):
    engine = SteeredFake()
    engine.enqueue([" 4", "2"])
    ran = invoke("complete", "40 + 2 =", "--grammar", GRAMMAR, "--alts", "3", engine=engine)
    assert ran.exit_code == 0, ran.error
    shown = invoke("history", "show", "1", "--alts", "3")
    assert shown.exit_code == 0, shown.error
    text = shown.stdout
    assert "constrained" in text and "90.0%" in text and "✗" in text
    assert "grammar: complete, refused 1 draw" in text


# --- eval: a generation task under a constraint -----------------------------------------


def test_eval_generation_takes_a_grammar_and_records_constrained_tokens(user_dirs, tmp_path):
    engine = SteeredFake()
    for _ in range(2):
        engine.enqueue([" 4", "2"])
    out = tmp_path / "r.json"
    ran = invoke(
        "eval", "arithmetic", "--generate", "2digit-add", "--limit", "2", "--shots", "0",
        "--seeds", "1", "--grammar", GRAMMAR, "--output", str(out), "--no-history",
        engine=engine,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.error
    assert all(p.grammar == GRAMMAR for p in engine.params)
    assert "constrained by a grammar" in ran.stderr
    record = json.loads(out.read_text())
    assert record["sampling"]["grammar"] == GRAMMAR
    [run] = record["runs"]
    tokens = [t for p in run["predictions"] for s in p["samples"] for t in s["tokens"]]
    assert tokens and all(
        t["constrained_logprob"] == pytest.approx(math.log(CONSTRAINED_P)) for t in tokens
    )


class FlushingFake(SteeredFake):
    """Flushes standard error as it starts a stream, as the real engine does around
    llama.cpp's grammar parser (it points fd 2 at /dev/null for a moment)."""

    def stream(self, prompt, params, **kwargs):
        import sys

        sys.stderr.flush()
        return super().stream(prompt, params, **kwargs)


@sync
async def test_a_stream_that_flushes_stderr_does_not_break_the_playground():
    # PlaygroundApp had a method _flush of its own, shadowing Textual's App._flush(stderr=),
    # which Textual's captured stderr calls: every grammar run in the TUI failed.
    engine = FlushingFake()
    engine.enqueue(REPLY)
    app, _ = fake_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        app.query_one(ParamsPanel).query_one("#p-choices", Input).value = "a,b"
        await pilot.press("ctrl+r")
        await wait_until(pilot, idle(app))
        assert len(app.query_one(TokenView).tokens) == len(REPLY)
