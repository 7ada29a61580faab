"""Naming models: OWNER/REPO[:QUANT] against a Hub cache built here, aliases, unknown names."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from gptplay.config import Config
from gptplay.errors import ModelError
from gptplay.hub import Choice, group_choices, parse_hub_name, quant_label, select
from gptplay.models import resolve_model
from tests.conftest import run_cli

REPO = "acme/tiny-GGUF"
REV = "0123456789abcdef0123456789abcdef01234567"


def add_file(cache: Path, repo: str, name: str, target: Path | bytes, rev: str = REV) -> Path:
    """Lay a file out as huggingface_hub does: blobs/<hash>, snapshots/<rev>/<name> -> blob."""
    folder = cache / ("models--" + repo.replace("/", "--"))
    blob = folder / "blobs" / hashlib.sha256(f"{name}{rev}".encode()).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(target, Path):
        blob.symlink_to(target)  # the real model, without copying 240 MB
    else:
        blob.write_bytes(target)
    link = folder / "snapshots" / rev / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(rev)  # no newline, as huggingface_hub writes it
    return link


@pytest.fixture
def hub(tmp_path, monkeypatch) -> Path:
    """An empty Hub cache in a temporary folder, offline."""
    cache = tmp_path / "hf"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def hub_env(cache: Path) -> dict:
    return {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}


def test_names_and_quant_labels():
    assert parse_hub_name("acme/tiny-GGUF:Q4_K_M") == parse_hub_name("acme/tiny-GGUF:Q4_K_M")
    name = parse_hub_name("acme/tiny-GGUF:Q4_K_M")
    assert (name.repo, name.selector) == ("acme/tiny-GGUF", "Q4_K_M")
    assert parse_hub_name("acme/tiny-GGUF").selector is None
    assert parse_hub_name("./models/x.gguf") is None and parse_hub_name("default") is None
    assert quant_label("gemma-3-270m-it-Q4_K_M.gguf") == "Q4_K_M"
    assert quant_label("model.Q8_0.gguf") == "Q8_0"
    assert quant_label("Qwen3-8B-UD-Q4_K_XL.gguf") == "UD-Q4_K_XL"
    assert quant_label("big-IQ4_XS-00001-of-00003.gguf") == "IQ4_XS"
    assert quant_label("model-f16.gguf") == "F16"
    assert quant_label("README.md") is None


def test_selecting_a_file_by_quant_glob_or_name():
    files = ["m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m-Q8_0.gguf", "mmproj-m-f16.gguf", "README.md"]
    choices = group_choices(files)
    assert [c.file for c in choices] == ["m-Q4_K_M.gguf", "m-Q4_K_S.gguf", "m-Q8_0.gguf"]
    assert select(choices, "q8_0", REPO).file == "m-Q8_0.gguf"  # case does not matter
    assert select(choices, "Q4_K_M", REPO).file == "m-Q4_K_M.gguf"
    assert select(choices, "*S.gguf", REPO).file == "m-Q4_K_S.gguf"
    assert select(choices, "m-Q8_0.gguf", REPO).file == "m-Q8_0.gguf"
    with pytest.raises(ModelError, match="holds 3 GGUF models") as err:
        select(choices, None, REPO)
    assert "m-Q4_K_S.gguf" in err.value.message and "acme/tiny-GGUF:Q4_K_M" in err.value.hint
    with pytest.raises(ModelError, match="matches 2 GGUF models"):
        select(choices, "Q4_K*", REPO)
    with pytest.raises(ModelError, match="No GGUF in acme/tiny-GGUF matches 'Q2_K'"):
        select(choices, "Q2_K", REPO)


def test_split_gguf_is_one_choice_opened_at_its_first_part():
    files = [f"big/m-Q4_K_M-0000{i}-of-00003.gguf" for i in (2, 1, 3)] + ["big/m-Q8_0.gguf"]
    choices = group_choices(files)
    assert choices[0] == Choice(tuple(f"big/m-Q4_K_M-0000{i}-of-00003.gguf" for i in (1, 2, 3)))
    assert select(choices, "Q4_K_M", REPO).file == "big/m-Q4_K_M-00001-of-00003.gguf"


@pytest.mark.model
def test_resolves_from_the_cache_offline(hub, model_path):
    link = add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)
    add_file(hub, REPO, "tiny-Q8_0.gguf", b"GGUF not really")
    found = resolve_model(f"{REPO}:Q4_K_M", Config())
    assert found.path == link and found.path.resolve() == model_path.resolve()
    assert found.name == f"{REPO}:Q4_K_M"
    with pytest.raises(ModelError, match="holds 2 GGUF models"):
        resolve_model(REPO, Config())


@pytest.mark.model
def test_follows_refs_main_not_an_older_snapshot(hub, model_path):
    add_file(hub, REPO, "tiny-Q8_0.gguf", b"old", rev="1" * 40)
    newest = add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)  # refs/main -> REV
    assert resolve_model(REPO, Config()).path == newest


@pytest.mark.model
def test_missing_blob_is_not_cached(hub, model_path):
    link = add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)
    blob = link.parent / os.readlink(link)
    blob.unlink()  # the blob itself (a link to the real model, which stays)
    with pytest.raises(ModelError, match="not in the Hugging Face cache") as err:
        resolve_model(f"{REPO}:Q4_K_M", Config())
    assert "HF_HUB_OFFLINE is set" in err.value.message


def test_not_cached_offline_says_exactly_that(hub):
    with pytest.raises(ModelError) as err:
        resolve_model("acme/absent-GGUF:Q4_K_M", Config())
    assert err.value.message == (
        f"acme/absent-GGUF:Q4_K_M is not in the Hugging Face cache ({hub}), and "
        "HF_HUB_OFFLINE is set, so it cannot be downloaded."
    )
    assert "gptplay models pull acme/absent-GGUF" in err.value.hint


@pytest.mark.model
def test_cached_repo_without_the_asked_quant_offline_lists_what_is_cached(hub, model_path):
    add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)
    with pytest.raises(ModelError, match="No GGUF in acme/tiny-GGUF matches 'Q8_0'") as err:
        resolve_model(f"{REPO}:Q8_0", Config())
    assert "tiny-Q4_K_M.gguf" in err.value.message


@pytest.mark.model
def test_aliases_resolve_and_loops_are_caught(hub, model_path, tmp_path):
    add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)
    config = Config(path=tmp_path / "config.toml", aliases={"t": f"{REPO}:Q4_K_M", "e": "default"})
    assert resolve_model("t", config).name == "t"
    assert resolve_model("t", config).path.resolve() == model_path.resolve()
    assert resolve_model(None, Config(model="t", aliases=config.aliases)).name == "t"
    looped = Config(path=tmp_path / "config.toml", aliases={"a": "b", "b": "a"})
    with pytest.raises(ModelError, match="loop: a -> b -> a"):
        resolve_model("a", looped)


@pytest.mark.model
def test_unknown_name_lists_what_is_available(hub, model_path):
    add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)
    with pytest.raises(ModelError) as err:
        resolve_model("nonesuch", Config(aliases={"mine": "default"}))
    assert err.value.message == f"Unknown model 'nonesuch'. Available: default, mine, {REPO}."


@pytest.mark.model
def test_cli_runs_a_cached_hub_model_and_lists_it(hub, model_path):
    add_file(hub, REPO, "tiny-Q4_K_M.gguf", model_path)
    proc = run_cli(
        "complete", "The capital of France is", "-m", f"{REPO}:Q4_K_M", "-t", "0", "-n", "4",
        "--json", env=hub_env(hub),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["model"] == f"{REPO}:Q4_K_M" and summary["tokens"] == 4
    listed = run_cli("models", "list", "--json", env=hub_env(hub))
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["source"] for r in rows] == ["embedded", "hub"]
    assert rows[1]["name"] == f"{REPO}:Q4_K_M" and rows[1]["architecture"] == "gemma3"
    assert rows[1]["quantization"] == "Q4_K_M" and rows[1]["size"] == model_path.stat().st_size


@pytest.mark.model
def test_cli_unknown_and_uncached_models_fail_cleanly(hub, model_path):
    proc = run_cli("complete", "hi", "-m", "nonesuch", env=hub_env(hub))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Unknown model 'nonesuch'. Available: default." in proc.stderr
    proc = run_cli("models", "info", "acme/absent-GGUF", env=hub_env(hub))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "not in the Hugging Face cache" in proc.stderr
    proc = run_cli("models", "pull", "acme/absent-GGUF", "--quant", "Q4_K_M", env=hub_env(hub))
    assert proc.returncode == 1 and "HF_HUB_OFFLINE is set" in proc.stderr
    proc = run_cli("models", "pull", "acme/x", "--quant", "Q4_K_M", "--file", "a.gguf")
    assert proc.returncode == 2 and "Give --file or --quant, not both." in proc.stderr


class FakeHub:
    """Stands in for huggingface_hub's listing and download calls: no network in tests."""

    def __init__(self, files: list[str], fail: Exception | None = None) -> None:
        self.files, self.fail, self.downloaded = files, fail, []

    def install(self, monkeypatch, cache: Path) -> None:
        import huggingface_hub

        hub = self

        class Api:
            def list_repo_files(self, repo_id: str) -> list[str]:
                if hub.fail:
                    raise hub.fail
                return hub.files

        def hf_hub_download(repo_id: str, filename: str, cache_dir: str) -> str:
            assert Path(cache_dir) == cache  # downloads land in the cache resolution reads
            hub.downloaded.append(filename)
            return str(add_file(cache, repo_id, filename, b"GGUF"))

        monkeypatch.setattr(huggingface_hub, "HfApi", Api)
        monkeypatch.setattr(huggingface_hub, "hf_hub_download", hf_hub_download)
        monkeypatch.setattr("gptplay.hub.check_reachable", lambda name: None)


def test_download_picks_the_quant_and_every_split_part(hub, monkeypatch):
    from gptplay.hub import download

    monkeypatch.delenv("HF_HUB_OFFLINE")
    parts = [f"m-Q4_K_M-0000{i}-of-00002.gguf" for i in (1, 2)]
    fake = FakeHub([*parts, "m-Q8_0.gguf", "README.md"])
    fake.install(monkeypatch, hub)
    path = download(parse_hub_name(REPO), "Q4_K_M")
    assert fake.downloaded == parts and path.name == parts[0]
    assert resolve_model(f"{REPO}:Q4_K_M", Config()).path == path  # now found in the cache
    with pytest.raises(ModelError, match="holds 2 GGUF models: m-Q4_K_M-00001-of-00002.gguf"):
        download(parse_hub_name(REPO))
    assert len(fake.downloaded) == 2


def test_online_resolution_downloads_what_the_cache_lacks(hub, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    fake = FakeHub(["m-Q4_K_M.gguf", "m-Q8_0.gguf"])
    fake.install(monkeypatch, hub)
    add_file(hub, REPO, "m-Q4_K_M.gguf", b"GGUF")
    assert resolve_model(f"{REPO}:Q4_K_M", Config()).path.name == "m-Q4_K_M.gguf"
    assert fake.downloaded == []  # cached: no network
    assert resolve_model(f"{REPO}:Q8_0", Config()).path.name == "m-Q8_0.gguf"
    assert fake.downloaded == ["m-Q8_0.gguf"]


def test_hub_errors_become_one_readable_line(hub, monkeypatch):
    from gptplay.hub import download

    class RepositoryNotFoundError(OSError):
        """Named as huggingface_hub names it."""

    monkeypatch.delenv("HF_HUB_OFFLINE")
    FakeHub([], fail=RepositoryNotFoundError("404")).install(monkeypatch, hub)
    with pytest.raises(ModelError, match="is not a model repo on the Hugging Face Hub"):
        download(parse_hub_name("acme/nope"))
    FakeHub([], fail=ConnectionError("network is unreachable")).install(monkeypatch, hub)
    with pytest.raises(ModelError) as err:
        download(parse_hub_name("acme/nope"))
    assert err.value.message == (
        "Could not download acme/nope from the Hugging Face Hub: network is unreachable "
        "(ConnectionError)."
    )


@pytest.mark.model
def test_model_dirs_are_listed_and_resolve_by_bare_name(hub, model_path, tmp_path, user_dirs):
    folder = tmp_path / "ggufs"
    folder.mkdir()
    (folder / "mine.gguf").symlink_to(model_path)
    (folder / "broken.gguf").write_bytes(b"<html>not a model file at all</html>")
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text(f"model_dirs = [{str(folder)!r}]\n")
    proc = run_cli("models", "list", "--json", env=hub_env(hub))
    assert proc.returncode == 0, proc.stderr
    rows = {Path(r["path"]).name: r for r in map(json.loads, proc.stdout.splitlines())}
    assert rows["mine.gguf"]["source"] == "dir" and rows["mine.gguf"]["architecture"] == "gemma3"
    assert "GGUF magic bytes" in rows["broken.gguf"]["problem"]
    from gptplay.config import load_config

    assert resolve_model("mine", load_config()).path == folder / "mine.gguf"


def test_an_unresolvable_hub_fails_at_once_without_retries(hub, monkeypatch):
    from gptplay.hub import download

    monkeypatch.delenv("HF_HUB_OFFLINE")
    # .invalid never resolves (RFC 6761): no request is ever sent.
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    with pytest.raises(ModelError, match="hub.invalid cannot be reached") as err:
        download(parse_hub_name("acme/model"))
    assert "offline" in err.value.message and "models list" in err.value.hint
