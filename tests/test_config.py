"""config.toml: strict validation with file:line:col, comment-keeping writes, precedence."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from gptplay.config import TEMPLATE, ConfigError, load_config, parse_config, write_value
from tests.cli_support import invoke
from tests.conftest import run_cli

PROMPT = "The capital of France is Paris. The capital of Germany is"


def config_file(user_dirs: Path, text: str) -> Path:
    user_dirs.mkdir(parents=True, exist_ok=True)
    path = user_dirs / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_is_an_empty_config(user_dirs):
    config = load_config()
    assert config.model is None and config.aliases == {} and config.sampling == {}


def test_template_is_valid_and_sets_nothing():
    config = parse_config(TEMPLATE, Path("config.toml"))
    assert config.sampling == {} and config.aliases == {} and config.gpu_layers is None


def test_a_full_config_parses(tmp_path):
    text = """\
model = "tiny"
threads = 2
gpu_layers = -1
ctx = 1024
model_dirs = ["~/models"]
[aliases]
tiny = "default"
"it.v2" = "acme/x-GGUF:Q4_K_M"
[sampling]
temperature = 0
top_p = 0.5
stop = ["\\n\\n"]
seed = 7
"""
    config = parse_config(text, tmp_path / "c.toml")
    assert (config.model, config.threads, config.gpu_layers, config.ctx) == ("tiny", 2, -1, 1024)
    assert config.model_dirs == (Path("~/models").expanduser(),)
    assert config.aliases == {"tiny": "default", "it.v2": "acme/x-GGUF:Q4_K_M"}
    assert config.sampling == {"temperature": 0, "top_p": 0.5, "stop": ("\n\n",), "seed": 7}


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("threads = 2\nmodel = \n", "2:8", "not valid TOML"),
        ("# hi\nthreds = 2\n", "2:1", "unknown setting 'threds'"),
        ("[sampling]\n  temprature = 1\n", "2:3", "unknown sampling setting 'temprature'"),
        ("[sampling]\ntop_p = 2\n", "2:1", "sampling.top_p = 2 is out of range: must be in (0, 1]"),
        ("[sampling]\ntop_k = 1.5\n", "2:1", "sampling.top_k must be an integer, not 1.5"),
        ("x = 1\n[sampling]\nseed = -1\n", "1:1", "unknown setting 'x'"),
        ("gpu_layers = -2\n", "1:1", "gpu_layers = -2 is out of range: must be in [-1, 4096]"),
        ("threads = true\n", "1:1", "threads must be an integer, not True"),
        ("stop = 1\n[sampling]\n", "1:1", "unknown setting 'stop'"),
        ("sampling.temperature = -1\n", "1:1", "sampling.temperature = -1 is out of range"),
        ("sampling = 3\n", "1:1", "'sampling' must be a table"),
        ('[aliases]\n"a/b" = "default"\n', "2:1", "alias name 'a/b' is not allowed"),
        ('[aliases]\ndefault = "x.gguf"\n', "2:1", "alias name 'default' is not allowed"),
        ("[aliases]\n\nq = 4\n", "3:1", "alias 'q' must name a model"),
        ('[sampling]\nstop = [""]\n', "2:1", "sampling.stop must be a list of non-empty strings"),
    ],
)
def test_errors_name_file_line_column_and_rule(tmp_path, text, where, message):
    path = tmp_path / "config.toml"
    with pytest.raises(ConfigError) as err:
        parse_config(text, path)
    assert err.value.message.startswith(f"{path}:{where}: ")
    assert message in err.value.message
    assert err.value.hint


def test_write_value_keeps_comments_and_is_atomic(user_dirs):
    path = config_file(user_dirs, "# my settings\nthreads = 2  # two cores\n\n[sampling]\n")
    write_value("sampling.temperature", 0.5)
    write_value("aliases.tiny", "default")
    text = path.read_text()
    assert text.startswith("# my settings\nthreads = 2  # two cores\n")
    assert load_config().sampling == {"temperature": 0.5}
    assert load_config().aliases == {"tiny": "default"}
    assert [p.name for p in user_dirs.iterdir()] == ["config.toml"]  # no temporary files left
    with pytest.raises(ConfigError, match="was not changed: sampling.top_p = 3 is out of range"):
        write_value("sampling.top_p", 3)
    assert path.read_text() == text


@pytest.mark.model
def test_flags_override_config_which_overrides_defaults(user_dirs, model_path):
    config_file(user_dirs, "[sampling]\ntemperature = 0\nmax_tokens = 3\nseed = 11\n")
    proc = run_cli("complete", PROMPT, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert (summary["tokens"], summary["seed"]) == (3, 11)  # from the config
    greedy = summary["text"]
    proc = run_cli("complete", PROMPT, "--json", "-n", "5", "--seed", "12", "-t", "0")
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert (summary["tokens"], summary["seed"]) == (5, 12)  # flags win
    assert summary["text"].startswith(greedy)


def test_a_flag_given_with_the_builtin_value_still_wins(user_dirs):
    config_file(user_dirs, "[sampling]\ntemperature = 0\ntop_k = 5\nstop = ['x']\n")
    ran = invoke("complete", "Hi")
    assert ran.exit_code == 0, ran.error
    assert (ran.params.temperature, ran.params.top_k, ran.params.stop) == (0, 5, ("x",))
    ran = invoke("complete", "Hi", "-t", "0.8", "--stop", "y")
    assert (ran.params.temperature, ran.params.top_k, ran.params.stop) == (0.8, 5, ("y",))


@pytest.mark.model
def test_config_default_model_and_broken_config(user_dirs, model_path):
    config_file(user_dirs, 'model = "tiny"\n[aliases]\ntiny = "default"\n')
    proc = run_cli("complete", PROMPT, "-n", "2", "-t", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1])["model"] == "tiny"
    path = config_file(user_dirs, "[sampling]\ntemperature = 'hot'\n")
    proc = run_cli("complete", PROMPT, "-n", "2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{path}:2:1: sampling.temperature must be a number, not 'hot'" in proc.stderr


def test_config_show_path_and_set(user_dirs):
    proc = run_cli("config", "path")
    assert proc.stdout.strip() == str(user_dirs / "config.toml")
    assert run_cli("config", "set", "gpu_layers", "-1").returncode == 0
    assert run_cli("config", "set", "sampling.stop", '["\\n\\n"]').returncode == 0
    record = json.loads(run_cli("config", "show", "--json").stdout)
    assert record["settings"]["gpu_layers"] == {"value": -1, "from": "config"}
    assert record["settings"]["sampling.stop"] == {"value": ["\n\n"], "from": "config"}
    assert record["settings"]["sampling.top_k"] == {"value": 40, "from": "default"}
    proc = run_cli("config", "set", "sampling.topk", "3")
    assert proc.returncode == 2 and "Unknown setting 'sampling.topk'" in proc.stderr


def test_config_show_and_effective_use_one_word_for_the_default(user_dirs):
    plain = invoke("config", "show").stdout
    effective = invoke("config", "show", "--effective").stdout
    assert "built-in" not in plain
    assert re.search(r"sampling\.top_k\s+40\s+default", plain), plain
    assert "default  " in effective and "sampling.top_k=40" in effective


def test_a_mistyped_config_key_gets_the_same_did_you_mean_as_a_task(user_dirs):
    proc = run_cli("config", "set", "sampling.tempreature", "0.5")
    assert proc.returncode == 2 and "hint: did you mean sampling.temperature?" in proc.stderr
    assert not (user_dirs / "config.toml").exists()
    proc = run_cli("library", "path", "translat")
    assert proc.returncode != 0 and "hint: did you mean translate" in proc.stderr


def editor(tmp_path: Path, body: str) -> dict:
    """An $EDITOR that writes ``body`` into the file it is given."""
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen(sys.argv[1], 'w').write({body!r})\n")
    return {"EDITOR": f"{sys.executable} {script}", "VISUAL": ""}


def test_config_edit_validates_before_saving(user_dirs, tmp_path):
    path = config_file(user_dirs, "# mine\nthreads = 2\n")
    proc = run_cli("config", "edit", env=editor(tmp_path, "threads = 0\n"), input="n\n")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{path}:1:1: threads = 0 is out of range: must be in [1, " in proc.stderr
    assert path.read_text() == "# mine\nthreads = 2\n"
    proc = run_cli("config", "edit", env=editor(tmp_path, "# mine\nthreads = 3\n"))
    assert proc.returncode == 0, proc.stderr
    assert path.read_text() == "# mine\nthreads = 3\n" and load_config().threads == 3
