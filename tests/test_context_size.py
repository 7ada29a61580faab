"""--ctx: refused above the trained context before anything is allocated; a raise is said."""

from __future__ import annotations

import pytest

from gptplay.cli import options as o
from gptplay.errors import UsageError
from gptplay.settings import Layer, resolve
from tests.conftest import run_cli

pytestmark = pytest.mark.model  # each reads the real model's file (the load itself is faked)


def settings(model_path, ctx=None, config_ctx=None):
    flags = {"model": str(model_path), **({"ctx": ctx} if ctx is not None else {})}
    config = Layer("config", {"ctx": config_ctx}, "config.toml") if config_ctx else None
    return resolve([config, Layer("flag", flags)])


def never_loaded(*args, **kwargs):
    raise AssertionError("the engine was asked to allocate a context")


@pytest.mark.parametrize("ctx", [32769, 100_000, 1_000_000])
def test_a_context_above_the_trained_one_is_refused_before_loading(model_path, monkeypatch, ctx):
    monkeypatch.setattr("gptplay.engine.load_engine", never_loaded)
    with pytest.raises(UsageError) as caught:
        o.load(settings(model_path, ctx))
    assert f"--ctx {ctx} is above" in caught.value.message
    assert "trained context of 32,768 tokens" in caught.value.message


def test_the_config_files_ctx_is_named_when_it_is_the_one_too_big(model_path, monkeypatch):
    monkeypatch.setattr("gptplay.engine.load_engine", never_loaded)
    with pytest.raises(UsageError, match=r"ctx = 50000 in config.toml is above"):
        o.load(settings(model_path, config_ctx=50000))


@pytest.mark.parametrize("ctx", [16, 64, 100])
def test_a_context_below_the_minimum_is_raised_and_said(model_path, monkeypatch, ctx):
    asked = {}
    monkeypatch.setattr("gptplay.engine.load_engine", lambda path, **kw: asked.update(kw))
    notices = []
    o.load(settings(model_path, ctx), notify=lambda text, warn: notices.append(text))
    assert asked["n_ctx"] == 256
    assert notices == [f"--ctx {ctx} is raised to 256, the smallest context llama.cpp allocates"]


def test_the_command_line_says_both(model_path):
    big = run_cli("complete", "--ctx", "1000000", "-n", "1", "Hi")
    assert big.returncode == 2 and "Traceback" not in big.stderr
    assert big.stderr.startswith("error: --ctx 1000000 is above gemma-3-270m")
    small = run_cli("complete", "--ctx", "64", "-n", "1", "-t", "0", "Hi")
    assert small.returncode == 0
    assert "--ctx 64 is raised to 256" in small.stderr
