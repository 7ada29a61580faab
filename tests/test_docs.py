"""The docs' transcripts stay true: their greedy, cheap commands are rerun on the embedded model.

A transcript is a `$ gptplay ...` line in a fenced block and the lines under it; the command is run
again (with --json, which carries the same text) and the text the transcript shows is
compared with what the model writes now. Timings and seeds are left alone.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
FENCE = "```"


def transcripts(doc: str) -> dict[str, list[str]]:
    """Each `$ gptplay ...` line inside a fenced block of ``doc``: command -> the lines under it."""
    found: dict[str, list[str]] = {}
    inside, current = False, None
    for line in (ROOT / doc).read_text(encoding="utf-8").splitlines():
        if line.startswith(FENCE):
            inside, current = not inside, None
        elif inside and line.startswith("$ "):
            current = found.setdefault(line[2:], []) if line.startswith("$ gptplay ") else None
        elif current is not None:
            current.append(line)
    return found


def transcript(doc: str, start: str) -> tuple[list[str], list[str]]:
    """The command's arguments (after `gptplay`) and the lines shown under it."""
    matches = [(c, lines) for c, lines in transcripts(doc).items() if c.startswith(start)]
    assert len(matches) == 1, f"{doc} has no single transcript of `{start}`"
    command, lines = matches[0]
    return shlex.split(command)[1:], lines


def records(args: list[str]) -> list[dict]:
    proc = run_cli(*args, "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def summary_text(args: list[str]) -> str:
    return next(r for r in records(args) if r["type"] == "summary")["text"]


def shown_output(lines: list[str], after: str) -> str:
    """The output lines after the first line starting ``after``, up to a blank, table or summary."""
    start = next(i for i, line in enumerate(lines) if line.startswith(after)) + 1
    out = []
    for line in lines[start:]:
        if not line.strip() or " tokens · " in line or line.strip() == "Top alternatives":
            break
        out.append(line)
    return "\n".join(out)


@pytest.mark.model
def test_the_readme_tour_shows_what_its_command_gives(model_path):
    main = (ROOT / "README.md").read_text(encoding="utf-8").split("<!-- main-command -->")[1]
    main_args = shlex.split(main.split("&& .venv/bin/gptplay ", 1)[1].split("\n")[0])
    args, lines = transcript("README.md", 'gptplay complete "The capital')
    # the tour runs the main command, with the short flags
    expand = {"-t": "--temperature", "-n": "--max-tokens"}
    assert [expand.get(a, a) for a in args] == main_args
    text = summary_text(args)
    # the blank lines under the output are its own trailing newlines (and the table's)
    assert shown_output(lines, "probability:") == text.rstrip("\n")
    table = [line for line in lines if line.startswith("│") and "│ .. │" not in line]
    tokens = [r["text"] for r in records(args) if r["type"] == "token"]
    for row, token in zip(table, tokens):
        assert row.split("│")[2].strip() == token.replace(" ", "·").replace("\n", "↵")


@pytest.mark.model
@pytest.mark.parametrize("doc", ["README.md", "docs/library.md"])
def test_the_fewshot_transcripts_show_what_their_command_gives(model_path, doc):
    args, lines = transcript(doc, "gptplay fewshot translate ")
    assert "--temperature" in args or "-t" in args
    assert shown_output(lines, "translate · ") == summary_text(args).rstrip("\n")


@pytest.mark.model
def test_the_compare_transcript_shows_what_its_command_gives(model_path):
    start = "gptplay compare translate --shots 0,1,3 --input cheese -t"
    args, lines = transcript("docs/compare.md", start)
    variants = [r for r in records(args) if r["type"] == "variant"]
    rows = [line for line in lines if line.startswith("│")]
    shown = [cell.strip().removeprefix("┃").strip() for cell in rows[1].split("│")[1:-1]]
    assert shown == [v["summary"]["text"].strip() for v in variants]


@pytest.mark.model
def test_the_remote_transcript_is_what_the_local_engine_gives(model_path):
    # docs/remote.md says the local engine gives the same text as the server it shows
    args, lines = transcript("docs/remote.md", 'gptplay complete "The capital')
    local = args[: args.index("--model")] + args[args.index("--model") + 2 :]
    assert shown_output(lines, "warning: ") == summary_text(local).rstrip("\n")


@pytest.mark.model
@pytest.mark.parametrize("doc", ["README.md", "docs/structured.md"])
def test_the_ban_transcript_shows_what_its_command_gives(model_path, doc):
    args, lines = transcript(doc, "gptplay fewshot sentiment --choice positive,negative --logit")
    assert summary_text(args) == lines[0]
