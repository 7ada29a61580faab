"""--help reads as text: no swallowed markup, no <bool> on flags, conventional usage lines."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gptplay.cli import app

COMMANDS = [
    ["complete"], ["tokens"], ["fewshot"], ["eval"], ["chat"], ["tui"],
    ["library", "show"], ["models", "info"], ["config", "show"], ["config", "set"], [],
]  # fmt: skip


def help_of(*command: str) -> str:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "gptplay")
def test_help_has_no_bool_metavar_and_plain_usage(command):
    text = help_of(*command)
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert "<bool>" not in text
    assert "{" not in usage and "[[" not in usage


def test_usage_lines_name_arguments_as_users_write_them():
    assert "Usage: gptplay fewshot [OPTIONS] TASK [INPUT]" in help_of("fewshot")
    assert "Usage: gptplay complete [OPTIONS] PROMPT" in help_of("complete")
    assert "Usage: gptplay tui [OPTIONS] [PROMPT]" in help_of("tui")


def test_fewshot_help_shows_params_literally():
    assert "The prompt's [params] are the sampling defaults" in help_of("fewshot")


def test_settings_flags_come_from_the_table_with_their_ranges():
    from gptplay.settings import SETTINGS

    text = help_of("complete")
    for s in SETTINGS:
        assert s.flag in text
    assert "(default 0.8, range [0, 10])" in text
    assert "--presence-penalty" in help_of("chat") and "--top-k" in help_of("tui")
    assert "--temperature" in help_of("eval") and "--ctx" in help_of("eval")  # eval generates


def test_the_installed_gptplay_command_starts():
    # the console script pip writes from pyproject.toml, as the README runs it
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("gptplay")
    assert script.is_file(), f"{script} is missing: install gptplay (the README's command)"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Usage: gptplay" in result.stdout


def _all_commands() -> list[list[str]]:
    """Every command and command group, as the words that name it."""
    import typer

    def walk(command, path):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("width", [80, 120])
def test_every_help_has_a_clean_usage_line_and_text_wrapped_once(width):
    # issue 24 item 13: `compare [TASK]...]...`, and docstrings broken where the source was
    for command in _all_commands():
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(width)})
        assert result.exit_code == 0, (command, result.output)
        lines = result.output.splitlines()
        usage = next(line for line in lines if "Usage:" in line).strip()
        assert _balanced(usage) and "]...]" not in usage and "[[" not in usage, (command, usage)
        prose = []
        for line in lines[lines.index(next(x for x in lines if "Usage:" in x)) + 1 :]:
            if line.lstrip().startswith(("╭", "│", "╰")):
                break
            prose.append(line.rstrip())
        for a, b in zip(prose, prose[1:]):
            if a.strip() and b.strip():  # b continues a's paragraph: only a full line wraps
                room = width - 1 - len(a)
                assert len(b.split()[0]) + 1 > room, (command, width, a, b)


def test_version_prints_gptplay_and_llama_cpp_python_versions():
    import re
    from importlib.metadata import version
    from pathlib import Path

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    declared = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert result.output.startswith(f"gptplay {declared} (")
    assert f"llama-cpp-python {version('llama-cpp-python')}" in result.output
