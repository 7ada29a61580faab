"""`gptplay models info`: GGUF metadata read without loading weights, checked against llama.cpp."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gptplay.errors import ModelError
from gptplay.gguf_info import read_gguf
from tests.conftest import run_cli

GEMMA3_LAYOUT = "▒▒▒▒▒█▒▒▒▒▒█▒▒▒▒▒█"


@pytest.mark.model
def test_embedded_model_metadata(model_path, engine):
    import llama_cpp

    info = read_gguf(model_path)
    model = engine._loaded.model
    assert info.architecture == "gemma3" and info.quantization == "Q4_K_M"
    assert info.n_layers == 18 == llama_cpp.llama_model_n_layer(model)
    assert info.vocab_size == 262_144 == engine.n_vocab
    assert info.n_params == llama_cpp.llama_model_n_params(model)
    assert info.arch_get("context_length") == llama_cpp.llama_model_n_ctx_train(model)
    assert info.arch_get("attention.head_count") == llama_cpp.llama_model_n_head(model)
    assert info.arch_get("embedding_length") == llama_cpp.llama_model_n_embd(model)
    assert info.arch_get("attention.head_count_kv") == 1
    assert info.sliding_window == 512 and info.chat_template is None
    tensor_bytes = sum(t.bytes for t in info.tensor_types)
    assert 0.95 * info.file_size < tensor_bytes < info.file_size  # the rest is the header
    assert sum(t.tensors for t in info.tensor_types) == 236
    layout = info.attention_layout()
    assert layout.global_layers == [5, 11, 17] and layout.pattern == 6 and layout.window == 512
    assert layout.source == "llama.cpp's gemma3 pattern (not in the file)"  # no pattern key


def write_gguf(path: Path, arch: str = "gemma3", **extra) -> Path:
    """A small GGUF written with llama.cpp's own gguf writer."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(6)
    writer.add_context_length(2048)
    writer.add_embedding_length(8)
    writer.add_head_count(2)
    writer.add_head_count_kv(2)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([f"t{i}" for i in range(1000)])  # longer than SMALL_ARRAY: skipped
    writer.add_chat_template("{% for m in messages %}{{ m.content }}{% endfor %}")
    if "window" in extra:
        writer.add_sliding_window(extra["window"])
    if "pattern" in extra:
        writer.add_array(f"{arch}.attention.sliding_window_pattern", extra["pattern"])
    writer.add_tensor("a.weight", np.ones((4, 8), dtype=np.float32))
    writer.add_tensor("b.weight", np.ones((16,), dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_small_file_matches_the_gguf_packages_own_reader(tmp_path):
    import gguf

    path = write_gguf(tmp_path / "small.gguf", window=4, pattern=[True, False] * 3)
    info = read_gguf(path)
    reader = gguf.GGUFReader(path)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "tokenizer.ggml.tokens":
            continue
        expected = field.contents()
        got = info.get(key)
        got = list(got.values) if hasattr(got, "values") else got
        assert got == expected, key
    assert info.get("tokenizer.ggml.tokens").count == 1000 == info.vocab_size
    assert info.n_params == sum(int(t.n_elements) for t in reader.tensors) == 48
    by_type = {t.name: t for t in info.tensor_types}
    assert by_type["F32"].bytes == 128 and by_type["F16"].bytes == 32
    layout = info.attention_layout()
    assert layout.source == "metadata" and layout.global_layers == [1, 3, 5]
    assert info.chat_template.startswith("{% for m in messages %}")


def test_layout_without_a_window_or_for_an_unknown_architecture(tmp_path):
    plain = read_gguf(write_gguf(tmp_path / "plain.gguf", arch="llama")).attention_layout()
    assert plain.window is None and plain.global_layers == list(range(6))
    windowed = read_gguf(write_gguf(tmp_path / "w.gguf", arch="llama", window=64))
    assert windowed.attention_layout().local == (True,) * 6


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "it is too short"),
        (b"PK\x03\x04" + b"\0" * 64, "it does not start with the GGUF magic bytes"),
        (b"GGUF\x03\0\0\0" + b"\xff" * 16 + b"\0" * 8, "its header is damaged or truncated"),
    ],
)
def test_corrupt_files_raise_model_error(tmp_path, content, why):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(ModelError, match=why):
        read_gguf(bad)


@pytest.mark.model
def test_truncated_model_is_reported_by_info_and_by_complete(tmp_path, model_path):
    cut = tmp_path / "cut.gguf"
    with model_path.open("rb") as src:
        cut.write_bytes(src.read(100_000))  # ends inside the vocabulary array
    proc = run_cli("models", "info", str(cut))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "is not a readable GGUF model file: its header is damaged or truncated" in proc.stderr
    proc = run_cli("complete", "hi", "-m", str(cut), "-n", "2")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "llama.cpp could not load this model" in proc.stderr
    proc = run_cli("models", "info", str(tmp_path / "absent.gguf"))
    assert proc.returncode == 1 and "Model file not found" in proc.stderr


@pytest.mark.model
def test_models_info_cli(model_path):
    proc = run_cli("models", "info")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for needle in ("gemma3", "Q4_K_M", "262,144 tokens", "32,768 tokens", "4 heads, 1 KV head"):
        assert needle in out
    assert GEMMA3_LAYOUT in out and "15 local (sliding window of 512 tokens), 3 global" in out
    top = read_gguf(model_path).tensor_types[0]  # the Q8_0 embedding table dominates
    assert top.name == "Q8_0" and f"{top.bytes / model_path.stat().st_size:.1%}" in out
    record = json.loads(run_cli("models", "info", "default", "--json").stdout)
    assert record["architecture"] == "gemma3" and record["layers"] == 18
    assert record["vocab_size"] == 262_144 and record["sliding_window"] == 512
    assert record["global_layers"] == [5, 11, 17] and len(record["local_layers"]) == 15
    assert record["has_chat_template"] is False and record["kv_heads"] == 1
    shares = sum(t["share_of_file"] for t in record["tensor_types"])
    assert 0.95 < shares < 1
    proc = run_cli("models", "info", "--template")
    assert proc.returncode == 1 and "has no chat template" in proc.stderr
