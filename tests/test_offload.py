"""GPU offload: the layer arithmetic, the report at load, and the can't-offload warning."""

from __future__ import annotations

import pytest

from gptplay.cli import options as o
from gptplay.cli.notices import Once, offload_message, report_offload
from gptplay.engine.offload import gpu_offload_supported, offload_of, plan, reinstall_command
from gptplay.settings import Layer, resolve
from tests.conftest import run_cli

CUDA = 'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python'


def test_plan_follows_llama_cpps_count():
    assert plan(-1, 18, True).offloaded == 19 and plan(-1, 18, True).total == 19
    assert plan(5, 18, True).offloaded == 5
    assert plan(100, 18, True).offloaded == 19
    assert plan(0, 18, True).offloaded == 0 and not plan(0, 18, True).wanted
    assert plan(-1, 18, False).offloaded == 0 and plan(-1, 18, False).wanted


def test_reinstall_command_pins_the_installed_version():
    from importlib.metadata import version

    assert reinstall_command() == f"{CUDA}=={version('llama-cpp-python')}"


def test_messages():
    assert offload_message(plan(0, 18, False)) is None
    assert offload_message(plan(-1, 18, True)) == ("offloaded 19/19 layers to the GPU", False)
    text, warning = offload_message(plan(-1, 18, False))
    assert warning and text.startswith("--gpu-layers -1 asks for GPU offload, but this")
    assert "runs on the CPU" in text and text.endswith(reinstall_command())
    text, _ = offload_message(plan(4, 18, False), asked="gpu_layers = 4 in config.toml")
    assert text.startswith("gpu_layers = 4 in config.toml asks for GPU offload")


def test_warning_is_shown_once_but_offload_reports_every_load():
    seen: list[tuple[str, bool]] = []
    once = Once()
    for _ in range(3):
        report_offload(plan(-1, 18, False), lambda t, w: seen.append((t, w)), once)
    assert len(seen) == 1 and seen[0][1]
    for _ in range(2):
        report_offload(plan(8, 18, True), lambda t, w: seen.append((t, w)), once)
    assert seen[1:] == [("offloaded 8/19 layers to the GPU", False)] * 2


@pytest.mark.model
def test_real_engine_offload_state(model_path):
    shown: list[tuple[str, bool]] = []
    settings = resolve([Layer("flag", {"model": "default", "ctx": 256, "gpu_layers": -1})])
    engine = o.load(settings, notify=lambda text, warning: None)
    found = offload_of(engine)
    assert found.total == 19 and found.requested == -1
    assert found.supported == gpu_offload_supported()
    assert found.offloaded == (19 if found.supported else 0)
    report_offload(found, lambda t, w: shown.append((t, w)), Once())
    assert len(shown) == 1 and shown[0][1] == (not found.supported)


@pytest.mark.skipif("gpu_offload_supported()", reason="this build can offload to a GPU")
@pytest.mark.model
def test_cli_warns_once_and_runs_on_the_cpu(model_path):
    proc = run_cli("complete", "The capital of France is", "-n", "3", "--gpu-layers", "-1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("asks for GPU offload") == 1
    assert "--gpu-layers -1 asks for GPU offload" in proc.stderr
    assert f"{CUDA}==" in proc.stderr and "runs on the CPU" in proc.stderr
    assert "3 tokens" in proc.stderr  # and it still ran


@pytest.mark.skipif("gpu_offload_supported()", reason="this build can offload to a GPU")
@pytest.mark.model
def test_cli_warning_names_the_config_when_it_asked(user_dirs, model_path):
    user_dirs.mkdir(parents=True, exist_ok=True)
    (user_dirs / "config.toml").write_text("gpu_layers = 10\n")
    proc = run_cli("complete", "Hi", "-n", "2")
    assert "gpu_layers = 10 in config.toml asks for GPU offload" in proc.stderr
    proc = run_cli("complete", "Hi", "-n", "2", "--gpu-layers", "0")  # the flag wins: no warning
    assert proc.returncode == 0 and "GPU" not in proc.stderr
