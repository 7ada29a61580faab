"""Layers of settings, the same in every front-end, run in-process on a FakeEngine.

built-in default < config.toml < the prompt's [params] < flags < TUI edits or `/set`.
"""

from __future__ import annotations

import json
from pathlib import Path

from gptplay.engine.fake import FakeEngine
from tests.cli_support import invoke
from tests.tui_support import SIZE, sync, wait_until

CONFIG = """\
ctx = 1024
threads = 1
[sampling]
temperature = 0.3
top_k = 7
min_p = 0.2
max_tokens = 9
"""

# A prompt of the user's library whose [params] set top_k and max_tokens, not min_p.
PROMPT = """\
title = "Mine"
kind = "translation"
instruction = "Translate English to French:"
template = "{english} => {french}"
answer = "french"
stop = ["\\n"]

[params]
top_k = 3
max_tokens = 5

[[examples]]
english = "cheese"
french = "fromage"
"""

# A dialogue scaffold of the user's library, with [params] of its own.
SCAFFOLD = """\
title = "My chat"
kind = "chat"
instruction = "A conversation."
template = "User: {user}\\nBot: {bot}"
answer = "bot"

[params]
top_k = 3
max_tokens = 5
"""


def setup(user_dirs: Path, config: str = CONFIG) -> None:
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text(config)
    prompts = user_dirs / "prompts"
    prompts.mkdir(exist_ok=True)
    (prompts / "mine.toml").write_text(PROMPT)
    (prompts / "mychat.toml").write_text(SCAFFOLD)


def test_complete_config_then_flags(user_dirs):
    setup(user_dirs)
    ran = invoke("complete", "Hi")
    assert ran.exit_code == 0, ran.error
    p = ran.params
    assert (p.temperature, p.top_k, p.min_p, p.max_tokens) == (0.3, 7, 0.2, 9)  # config
    assert (p.top_p, p.repeat_penalty) == (0.95, 1.0)  # built-in defaults
    assert (ran.settings["ctx"], ran.settings["threads"]) == (1024, 1)
    ran = invoke("complete", "Hi", "-t", "0.8", "--top-k", "40", "--ctx", "512")
    p = ran.params
    assert (p.temperature, p.top_k, p.min_p) == (0.8, 40, 0.2)  # flags at the default win
    assert ran.settings["ctx"] == 512 and ran.settings.origins["ctx"] == "flag --ctx"


def test_complete_json_summary_carries_the_settings(user_dirs):
    setup(user_dirs)
    ran = invoke("complete", "Hi", "--json", "--seed", "5")
    summary = json.loads(ran.stdout.splitlines()[-1])
    assert summary["settings"]["top_k"] == 7 and summary["settings"]["seed"] == 5
    assert summary["settings"]["stop"] == [] and summary["settings"]["ctx"] == 1024


def test_fewshot_default_config_prompt_flags(user_dirs):
    """The bug: fewshot's hard-coded defaults used to hide config.toml's [sampling]."""
    setup(user_dirs)
    ran = invoke("fewshot", "mine", "-k", "1", "--input", "bread")
    assert ran.exit_code == 0, ran.error
    p = ran.params
    assert (p.top_k, p.max_tokens) == (3, 5)  # the prompt's [params] over the config
    assert (p.temperature, p.min_p) == (0.3, 0.2)  # the config, which the prompt leaves
    assert p.top_p == 0.95 and p.stop == ("\n",)  # default; the prompt's stop
    ran = invoke("fewshot", "mine", "-k", "1", "--input", "bread", "--top-k", "2", "--stop", "x")
    assert (ran.params.top_k, ran.params.max_tokens, ran.params.stop) == (2, 5, ("x",))
    assert ran.settings["ctx"] == 1024


def test_fewshot_without_config_uses_the_builtin_defaults(user_dirs):
    setup(user_dirs, config="")
    p = invoke("fewshot", "mine", "-k", "1", "--input", "bread").params
    assert (p.temperature, p.top_k, p.min_p, p.max_tokens) == (0.8, 3, 0.05, 5)


def test_chat_default_config_scaffold_flags(user_dirs):
    setup(user_dirs)
    engine = FakeEngine()
    engine.enqueue(["Bonjour"])
    ran = invoke("chat", "--template", "mychat", engine=engine, input="Hello\n")
    assert ran.exit_code == 0, ran.error
    p = ran.params
    assert (p.top_k, p.max_tokens) == (3, 5)  # the scaffold's [params]
    assert (p.temperature, p.min_p) == (0.3, 0.2)  # config.toml, ignored by chat before
    ran = invoke("chat", "--template", "mychat", "-n", "4", "--min-p", "0", input="Hi\n")
    assert (ran.params.max_tokens, ran.params.min_p, ran.params.top_k) == (4, 0.0, 3)
    assert ran.settings["threads"] == 1


def test_chat_set_is_the_top_layer(user_dirs):
    from gptplay.chat import ChatSession, choose_format
    from gptplay.chat.commands import apply_set, default_params, format_layer
    from gptplay.config import config_layer, load_config
    from gptplay.settings import SettingsStack

    setup(user_dirs)
    engine = FakeEngine()
    fmt = choose_format(engine, "mychat")
    layers = SettingsStack(config=config_layer(load_config()))
    settings = layers.resolve(format_layer(fmt))
    assert default_params(fmt, layers) == settings.sampling()
    session = ChatSession(engine, fmt, settings.sampling(), settings=settings)
    assert (session.params.top_k, session.params.min_p) == (3, 0.2)
    apply_set(session, "top_k=11 min_p=0.5 seed=4")
    assert (session.params.top_k, session.params.min_p, session.params.seed) == (11, 0.5, 4)
    session.send("Hi").finish()
    assert engine.params[-1].top_k == 11
    resolved = session.resolved()
    assert resolved.origins["top_k"] == "session /set" and resolved["top_k"] == 11
    assert resolved.origins["temperature"].startswith("config ")  # untouched by /set
    assert resolved.origins["max_tokens"] == f"prompt {user_dirs / 'prompts' / 'mychat.toml'}"


def test_eval_loads_with_config_then_flag_model_settings(user_dirs, tmp_path):
    setup(user_dirs)
    data = tmp_path / "dev.jsonl"
    rows = [("Great film.", "positive"), ("Dull.", "negative")]
    data.write_text("".join(json.dumps({"sentence": s, "label": y}) + "\n" for s, y in rows))
    args = ("eval", "sentiment", "--data", str(data), "--shots", "0", "--seeds", "1")
    ran = invoke(*args)
    assert ran.exit_code == 0, ran.error
    assert (ran.settings["ctx"], ran.settings["threads"]) == (1024, 1)
    ran = invoke(*args, "--ctx", "2048", "--threads", "2")
    assert (ran.settings["ctx"], ran.settings["threads"]) == (2048, 2)


@sync
async def test_tui_default_config_prompt_flags_edits(user_dirs):
    from textual.widgets import Input

    from gptplay.cli.options import Flags
    from gptplay.cli.tui import tui_app

    setup(user_dirs)
    engine = FakeEngine()
    flags = Flags({"temperature": 0.0, "ctx": 512}, engine.loader())
    app = tui_app(flags, prompt="mine", library=None, top=5)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.engine is not None)
        assert engine.loads[-1]["ctx"] == 512  # the flag over the config's 1024
        assert engine.loads[-1]["threads"] == 1  # the config over the TUI's own default

        def field(name: str) -> str:
            return app.query_one(f"#p-{name}", Input).value

        assert field("temperature") == "0"  # flag > config
        assert field("top_k") == "3"  # prompt > config
        assert field("min_p") == "0.2"  # config > default
        assert field("top_p") == "0.95" and field("presence_penalty") == "0"  # defaults
        app.query_one("#p-top_k", Input).value = "12"  # the TUI's edit, on top
        app.query_one("#p-frequency_penalty", Input).value = "0.5"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.generating and engine.params)
        p = engine.params[-1]
        assert (p.temperature, p.top_k, p.min_p, p.max_tokens) == (0.0, 12, 0.2, 5)
        assert p.frequency_penalty == 0.5


def test_config_show_effective_names_each_origin(user_dirs):
    setup(user_dirs)
    ran = invoke("config", "show", "--effective", "mine", "--top-p", "0.5")
    assert ran.exit_code == 0, ran.error
    lines = {line.split()[-1]: line for line in ran.stdout.splitlines()}
    config = user_dirs / "config.toml"
    assert lines["sampling.min_p=0.2"].startswith(f"config {config}:6 ")
    assert lines["sampling.top_k=3"].startswith(f"prompt {user_dirs / 'prompts' / 'mine.toml'}")
    assert lines["sampling.top_p=0.5"].startswith("flag --top-p ")
    assert lines["sampling.repeat_penalty=1.0"].startswith("default ")
    assert lines["ctx=1024"].startswith(f"config {config}:1 ")
    ran = invoke("config", "show", "--effective", "--json")
    record = json.loads(ran.stdout)["settings"]
    assert record["sampling.top_k"] == {"value": 7, "from": f"config {config}:5"}
    assert invoke("config", "show", "mine").exit_code == 2  # a task needs --effective
