"""`gptplay library ...` run as a user runs it: listings, validation, new and edit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import run_cli

BAD = """\
title = "Broken"
kind = "translashun"
template = "{english} => {french}"
answer = "french"
colour = "blue"

[[examples]]
english = "cat"
"""


def clean_error(proc, *needles):
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def editor(tmp_path: Path, body: str) -> dict:
    """An $EDITOR that runs a small Python edit on the file it is given."""
    script = tmp_path / "edit.py"
    script.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1])\nt = p.read_text()\n" + body
    )
    return {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}


def test_list_json_says_which_is_user_and_builtin(user_dirs):
    (user_dirs / "prompts").mkdir(parents=True)
    builtin = run_cli("library", "path", "translate").stdout.strip()
    (user_dirs / "prompts" / "translate.toml").write_text(Path(builtin).read_text())
    (user_dirs / "prompts" / "broken.toml").write_text(BAD)
    proc = run_cli("library", "list", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["translate"]["origin"] == "user (shadows built-in)"
    assert rows["sentiment"]["origin"] == "built-in" and rows["sentiment"]["examples"] >= 8
    assert rows["broken"]["title"] is None and "unknown kind" in rows["broken"]["error"]
    plain = run_cli("library", "list")
    assert "shadows" in plain.stdout and "invalid" in plain.stdout


def test_show_prints_toml_and_rendered_prompt():
    proc = run_cli("library", "show", "translate", "--shots", "2")
    assert proc.returncode == 0, proc.stderr
    assert 'template = "{english} => {french}"' in proc.stdout
    assert "sea otter => loutre de mer\npeppermint => menthe poivrée\n{english} =>" in proc.stdout


def test_validate_lists_every_problem_with_positions(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD)
    proc = run_cli("library", "validate", str(bad))
    clean_error(
        proc,
        f"{bad}:2:1: unknown kind 'translashun'",
        f"{bad}:5:1: unknown key 'colour'",
        f"{bad}:7:1: example 1 is missing the field 'french'",
        "3 problem(s)",
    )
    assert run_cli("library", "validate").returncode == 0
    broken = tmp_path / "syntax.toml"
    broken.write_bytes(b'title = "x\n')
    clean_error(run_cli("library", "validate", str(broken)), f"{broken}:1:11: not valid TOML")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00title")
    clean_error(run_cli("library", "validate", str(binary)), "not UTF-8")


def test_new_from_and_escaping_names(user_dirs):
    proc = run_cli("library", "new", "mine", "--from", "translate")
    assert proc.returncode == 0, proc.stderr
    mine = user_dirs / "prompts" / "mine.toml"
    assert (
        mine.read_text() == Path(run_cli("library", "path", "translate").stdout.strip()).read_text()
    )
    assert run_cli("library", "path", "mine").stdout.strip() == str(mine)
    clean_error(run_cli("library", "new", "mine"), "already exists")
    clean_error(run_cli("library", "new", "../x"), "escape the library directory")
    assert not (user_dirs / "x.toml").exists()
    assert run_cli("library", "new", "skeleton").returncode == 0
    assert run_cli("library", "validate", "skeleton").returncode == 0
    clean_error(run_cli("library", "show", "transalte"), "did you mean translate")


def test_edit_builtin_makes_a_user_copy_and_keeps_comments(user_dirs, tmp_path):
    builtin = Path(run_cli("library", "path", "translate").stdout.strip())
    env = editor(tmp_path, "p.write_text(t.replace('max_tokens = 32', 'max_tokens = 20'))\n")
    proc = run_cli("library", "edit", "translate", env=env)
    assert proc.returncode == 0, proc.stderr
    mine = user_dirs / "prompts" / "translate.toml"
    original, edited = builtin.read_text().splitlines(), mine.read_text().splitlines()
    changed = [(a, b) for a, b in zip(original, edited) if a != b]
    assert changed == [("max_tokens = 32", "max_tokens = 20")] and len(original) == len(edited)
    assert edited[0].startswith("# English to French")  # the comments are all still there
    listing = {r["name"]: r for r in json.loads(run_cli("library", "list", "--json").stdout)}
    assert listing["translate"]["origin"] == "user (shadows built-in)"


def test_invalid_edit_leaves_the_original_untouched(user_dirs, tmp_path):
    assert run_cli("library", "new", "mine", "--from", "sentiment").returncode == 0
    mine = user_dirs / "prompts" / "mine.toml"
    before = mine.read_text()
    env = editor(tmp_path, "p.write_text(t.replace('kind = ', 'knd = '))\n")
    proc = run_cli("library", "edit", "mine", env=env, input="n\n")
    clean_error(proc, "mine.toml:5:1: unknown key 'knd'", "unchanged")
    assert mine.read_text() == before
    assert sorted(p.name for p in mine.parent.iterdir()) == ["mine.toml"]


def test_invalid_edit_can_be_fixed_on_a_second_try(user_dirs, tmp_path):
    assert run_cli("library", "new", "mine", "--from", "sentiment").returncode == 0
    mine = user_dirs / "prompts" / "mine.toml"
    # First pass breaks the kind; the second pass (same editor, file kept) repairs it.
    body = (
        "if 'knd = ' in t:\n    p.write_text(t.replace('knd = ', 'kind = '))\n"
        "else:\n    p.write_text(t.replace('kind = ', 'knd = ').replace('max_tokens = 3', "
        "'max_tokens = 5'))\n"
    )
    proc = run_cli("library", "edit", "mine", env=editor(tmp_path, body), input="y\n")
    assert proc.returncode == 0, proc.stderr
    assert "unknown key 'knd'" in proc.stderr and "saved" in proc.stderr
    assert "max_tokens = 5" in mine.read_text() and 'kind = "classification"' in mine.read_text()


def test_editor_that_fails_changes_nothing(user_dirs):
    proc = run_cli("library", "edit", "translate", env={"EDITOR": "false", "VISUAL": ""})
    clean_error(proc, "the editor exited with status 1")
    assert not (user_dirs / "prompts" / "translate.toml").exists()
    proc = run_cli("library", "edit", "translate", env={"EDITOR": "no-such-editor-xyz"})
    clean_error(proc, "cannot run the editor")


def test_library_flag_and_env_directories(tmp_path, user_dirs):
    flag_dir, env_dir = tmp_path / "flag", tmp_path / "env"
    env_dir.mkdir()
    builtin = Path(run_cli("library", "path", "antonyms").stdout.strip()).read_text()
    (env_dir / "opp.toml").write_text(builtin.replace('title = "Opposites"', 'title = "Env"'))
    env = {"GPTPLAY_LIBRARY": str(env_dir)}
    rows = {r["name"]: r for r in json.loads(run_cli("library", "list", "--json", env=env).stdout)}
    assert rows["opp"]["title"] == "Env" and rows["opp"]["origin"] == "user"
    proc = run_cli("library", "new", "mine", "--from", "opp", "--library", str(flag_dir), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (flag_dir / "mine.toml").read_text() == (env_dir / "opp.toml").read_text()
    assert not (user_dirs / "prompts").exists()


def test_an_edit_that_changes_nothing_writes_no_copy_of_a_builtin(user_dirs):
    proc = run_cli("library", "edit", "qa", env={"EDITOR": "true", "VISUAL": ""})
    assert proc.returncode == 0, proc.stderr
    assert "no changes" in proc.stderr and "was not created" in proc.stderr
    assert not (user_dirs / "prompts" / "qa.toml").exists()  # the built-in is not shadowed
    listing = {r["name"]: r for r in json.loads(run_cli("library", "list", "--json").stdout)}
    assert listing["qa"]["origin"] == "built-in"


def test_path_without_a_name_prints_the_folder_prompts_are_saved_in(user_dirs, tmp_path):
    proc = run_cli("library", "path")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(user_dirs / "prompts")
    proc = run_cli("library", "path", "--library", str(tmp_path / "mine"))
    assert proc.stdout.strip() == str(tmp_path / "mine")


def test_the_new_skeleton_validates_and_points_to_a_section_that_exists(user_dirs):
    import re

    assert run_cli("library", "new", "opposites").returncode == 0
    text = (user_dirs / "prompts" / "opposites.toml").read_text()
    assert run_cli("library", "validate", "opposites").returncode == 0
    first = text.splitlines()[0]
    doc, section = re.search(r"gptplay's (\S+), \"([^\"]+)\"", first).groups()
    headings = (Path(__file__).parents[1] / doc).read_text().splitlines()
    assert any(h.lstrip("#").strip() == section for h in headings if h.startswith("#"))
    # the comment above the template counts no demonstrations: the file has two
    assert "One demonstration" not in text and text.count("\n[[examples]]\n") == 2
