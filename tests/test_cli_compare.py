"""`gptplay compare` in-process on the FakeEngine: layouts, divergence point, JSON, --score."""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gptplay.cli import app
from gptplay.cli.options import ENGINE_LOADER
from gptplay.engine.fake import FakeEngine
from gptplay.errors import UsageError

HALF = math.log(0.5)


@pytest.fixture
def fake() -> FakeEngine:
    """The scripted engine every model `compare` loads is (one object, so scripts queue up)."""
    return FakeEngine(n_ctx=4096)


def invoke(*args: str, width: int = 120, engine: FakeEngine | None = None):
    """`gptplay compare ARGS` in this process, its models loaded as the FakeEngine."""
    engine = engine or FakeEngine(n_ctx=4096)
    obj = {ENGINE_LOADER: engine.loader()}
    return CliRunner().invoke(app, ["compare", *args], env={"COLUMNS": str(width)}, obj=obj)


def records(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


SHOTS = ("translate", "--shots", "0,1,3", "--input", "cheese", "-t", "0")


def test_json_has_one_record_per_variant_then_the_divergence(fake):
    for reply in (["f", "romage"], ["fro", "mage"], ["f", "romage", "!"]):
        fake.enqueue(reply)
    out = records(invoke(*SHOTS, "--json", engine=fake))
    variants, div = out[:-1], out[-1]
    assert [v["label"] for v in variants] == ["zero-shot", "one-shot", "3-shot"]
    assert [v["settings"]["shots"] for v in variants] == [0, 1, 3]
    assert all(v["settings"]["temperature"] == 0 for v in variants)
    # the prompts really differ by their demonstrations, and end at the query cut
    assert variants[0]["prompt"] == "Translate English to French:\ncheese =>"
    assert variants[2]["prompt"].count("=>") == 4
    # tokens as `complete --json` writes them, and a summary with the mean log-probability
    assert [t["text"] for t in variants[1]["tokens"]] == ["fro", "mage"]
    assert variants[1]["summary"]["mean_logprob"] == pytest.approx(HALF)
    assert variants[1]["summary"]["perplexity"] == pytest.approx(2.0)
    assert div["position"] == 0 and div["common"] == ""
    assert [c["text"] for c in div["choices"]] == ["f", "fro"]
    assert [v["took"] for v in div["variants"]] == [0, 1, 0]
    # each variant's log-probability of both choices (its own from its tokens, the other scored)
    assert all(lp == pytest.approx(HALF) for v in div["variants"] for lp in v["logprobs"])


def test_divergence_after_a_shared_beginning_and_at_an_end(fake):
    fake.enqueue(["A", "B", "C"])
    fake.enqueue(["A", "B"])
    out = records(invoke("translate", "-k", "1", "-i", "x", "-t", "0,0.8", "--json", engine=fake))
    div = out[-1]
    assert div["position"] == 2 and div["common"] == "AB"
    assert div["choices"] == [{"text": "C", "bytes": "43"}, None]
    assert [v["took"] for v in div["variants"]] == [0, 1]
    assert div["variants"][1]["logprobs"][1] is None  # nobody's odds of "the end" are known


def test_identical_outputs_have_no_divergence(fake):
    fake.enqueue(["same"])
    fake.enqueue(["same"])
    out = records(invoke("translate", "-i", "x", "-t", "0,0.8", "--json", engine=fake))
    assert out[-1] == {"type": "divergence", "position": None}


def test_columns_when_they_fit(fake):
    for reply in (["un"], ["deux"], ["trois"]):
        fake.enqueue(reply)
    result = invoke(*SHOTS, width=120, engine=fake)
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "zero-shot" in line)
    assert "one-shot" in header and "3-shot" in header  # side by side, on one line
    assert "Diverge at token 1" in result.stdout
    assert "mean logprob -0.693" in result.stdout and "ppl 2.00" in result.stdout
    assert "3 variants · prompt tokens evaluated" in result.stderr


def test_rows_when_the_width_is_too_small_or_asked_for(fake):
    for width, layout in ((60, "auto"), (120, "rows")):
        for reply in (["un"], ["deux"], ["trois"]):
            fake.enqueue(reply)
        result = invoke(*SHOTS, "--layout", layout, width=width, engine=fake)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        heads = [n for n, line in enumerate(lines) if line.startswith("│") and "-shot" in line]
        assert len(heads) == 3 and len(set(heads)) == 3  # one row each
        assert not any("zero-shot" in line and "one-shot" in line for line in lines)


def test_axes_are_crossed_and_labelled_by_what_varies(fake):
    out = records(invoke("translate", "-k", "0,1", "-i", "x", "-t", "0,0.8", "--json", engine=fake))
    labels = [r["label"] for r in out[:-1]]
    assert labels == ["zero-shot · t=0", "zero-shot · t=0.8", "one-shot · t=0", "one-shot · t=0.8"]
    # no --seed: every variant shares one fresh seed, so only what was varied differs
    assert len({r["settings"]["seed"] for r in out[:-1]}) == 1


def test_samples_get_consecutive_seeds(fake):
    out = records(
        invoke("translate", "-i", "x", "--samples", "3", "--seed", "7", "--json", engine=fake)
    )
    assert [r["settings"]["seed"] for r in out[:-1]] == [7, 8, 9]
    assert [r["label"] for r in out[:-1]] == ["sample 1", "sample 2", "sample 3"]


def test_models_load_one_at_a_time_in_order(fake, tmp_path):
    a, b = tmp_path / "a.gguf", tmp_path / "b.gguf"
    for path in (a, b):
        path.write_bytes(b"GGUF")  # enough for the check that runs before any model loads
    out = records(invoke("translate", "-i", "x", "-m", f"{a},{b}", "--json", engine=fake))
    assert [settings["model"] for settings in fake.loads] == [str(a), str(b)]
    assert [r["settings"]["model"] for r in out[:-1]] == [str(a), str(b)]


def test_a_missing_second_model_is_reported_before_the_first_runs(fake, tmp_path):
    a = tmp_path / "a.gguf"
    a.write_bytes(b"GGUF")
    result = invoke("translate", "-i", "x", "-m", f"{a},{tmp_path / 'none.gguf'}", engine=fake)
    assert "Model file not found" in result.exception.message
    assert fake.loads == [] and fake.prompts == []


def test_variants_sharing_a_prefix_run_next_to_each_other(fake):
    # 3-shot's prompt shares its instruction and first demonstration with 1-shot, 1-shot
    # its instruction with 0-shot ("x" sorts after "sea otter"): run in token order
    records(invoke("translate", "-k", "0,1,3", "-i", "x", "--json", engine=fake))
    assert [p.count(ord("=") + 1) for p in fake.prompts] == [4, 2, 1]  # one "=>" a line


def test_score_table_of_variants_against_continuations(fake):
    out = records(invoke(*SHOTS, "--score", " fromage", "--score", " chat", "--json", engine=fake))
    assert [r["type"] for r in out] == ["score"] * 3
    first = out[0]["continuations"]
    assert [c["text"] for c in first] == [" fromage", " chat"]
    assert first[0]["logprob"] == pytest.approx(8 * HALF)  # the fake's tokens are bytes
    assert len(first[1]["tokens"]) == 5
    assert fake.prompts == []  # scoring generates nothing
    table = invoke(*SHOTS, "--score", " fromage", engine=fake).stdout
    assert "' fromage'" in table and "-5.545" in table and "3-shot" in table


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("-t", "0,hot"), "--temperature '0,hot': --temperature must be a number, not 'hot'"),
        (("--top-p", "0.5,0"), "--top-p 0.0 is out of range: must be in (0, 1]"),
        (("-k", "0,,1"), "--shots '0,,1' has an empty value"),
        (("-k", "1,1"), "repeats a value"),
        (("--layout", "grid"), "--layout 'grid' is not one of"),
        (("--score", ""), "--score '' is empty"),
        (("--samples", "0"), "--samples 0 is out of range"),
        (("--var", "lang"), "--var 'lang' is not KEY=VALUE"),
    ],
)
def test_bad_flags_name_the_option(fake, args, needle):
    result = invoke("translate", "-i", "x", *args, engine=fake)
    assert isinstance(result.exception, UsageError), result.output
    assert needle in result.exception.message


def _capped(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`gptplay compare ARGS` in a subprocess with 3 GiB of address space and a timeout."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run(
        [sys.executable, "-m", "gptplay", "compare", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        env={**os.environ, "COLUMNS": "120"},
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (
            ("-t", ",".join(f"{i / 10_000:g}" for i in range(10_000)),
             "--top-k", ",".join(str(i) for i in range(10_000))),
            "100,000,000 variants (10,000 temperature values x 10,000 top-k values)",
        ),
        (("--samples", "1000000"), "1,000,000 variants (1,000,000 samples)"),
    ],
    ids=["10k x 10k", "a million samples"],
)  # fmt: skip
def test_too_many_variants_are_refused_before_anything_is_built(args, needle):
    # issue 24 item 9: counted from the lists' lengths, not by building the cross product
    result = _capped("translate", "-i", "x", *args)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert result.stderr.startswith(f"error: {needle} are more than the limit of 256.")
    assert "--max-variants" in result.stderr


def test_max_variants_raises_the_limit(fake):
    result = invoke("translate", "-i", "x", "-k", "0,1", "--samples", "3", "--max-variants", "5")
    assert isinstance(result.exception, UsageError)
    assert "6 variants (2 shot counts x 3 samples) are more than the limit of 5" in (
        result.exception.message
    )
    out = records(invoke("translate", "-i", "x", "-k", "0,1", "--samples", "3",
                         "--max-variants", "6", "--json", engine=fake))  # fmt: skip
    assert len(out) == 7  # six variants and the divergence


def test_select_embed_is_refused_not_silently_the_first_demonstrations():
    # compare composes every variant before the model loads: embed fell back to 'first'
    from tests.cli_support import invoke

    ran = invoke("compare", "translate", "--shots", "1,2", "--input", "cheese",
                 "--select", "embed")  # fmt: skip
    assert ran.exit_code == 2
    assert "compare --select embed is not supported" in ran.error
    assert ran.engine.params == []
