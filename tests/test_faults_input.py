"""Hostile files and input (issue 17 items 1, 2, 3, 5, 6, 8 and 15's bytes): one line, no hang.

Commands that could hang run in a subprocess with a timeout of their own.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from gptplay.chat.conversation import ChatFileError, Conversation
from gptplay.evaluate.data import DataError, load_examples
from gptplay.library import Library, PromptError, load_file
from gptplay.library.loader import MAX_KEY_PARTS, MAX_PROMPT_BYTES, parse_toml
from tests.conftest import run_cli

MARKUP_PROMPT = """title = "[/]"
description = "[bold]x[/]"
kind = "classification"
instruction = "[/] Classify."
template = "{text} => {label}"
answer = "label"
labels = ["[/]", "[red]"]

[[examples]]
text = "[/]"
label = "[/]"
"""
BROKEN_PROMPT = 'title = "t"\nkind = "[/]"\ntemplate = "{a} {b}"\nanswer = "b"\n"[/]" = 1\n'


def _one_line_error(r: subprocess.CompletedProcess, code: int = 1) -> None:
    assert r.returncode == code, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr and "MarkupError" not in r.stderr
    assert r.stderr.startswith("error: "), r.stderr


@pytest.fixture
def markup_library(tmp_path) -> Path:
    lib = tmp_path / "lib[/]x"  # the folders "lib[" and "]x" in it
    lib.mkdir(parents=True)
    (lib / "evil.toml").write_text(MARKUP_PROMPT)
    (lib / "bad.toml").write_text(BROKEN_PROMPT)
    return lib


def test_markup_in_prompt_files_and_paths_is_printed_as_text(markup_library):
    lib = str(markup_library)
    listing = run_cli("library", "list", "--library", lib)
    assert listing.returncode == 0, listing.stderr
    assert "[/]" in listing.stdout and "unknown kind '[/]'" in " ".join(listing.stdout.split())
    shown = run_cli("library", "show", "evil", "--library", lib)
    assert shown.returncode == 0, shown.stderr
    assert "lib[/]x" in shown.stdout and 'labels = ["[/]", "[red]"]' in shown.stdout
    created = run_cli("library", "new", "fresh", "--library", lib)
    assert created.returncode == 0, created.stderr
    assert "lib[/]x" in created.stderr and (markup_library / "fresh.toml").exists()
    assert run_cli("library", "validate", "--library", lib).returncode == 1


@pytest.mark.model
def test_markup_in_fewshot_save_as_and_eval_labels(markup_library, tmp_path):
    lib = str(markup_library)
    saved = run_cli(
        "fewshot", "evil", "--library", lib, "--shots", "1", "--input", "[/] [red]",
        "--save-as", "copy", "-n", "1", "-t", "0",
    )  # fmt: skip
    assert saved.returncode == 0, saved.stderr
    assert "lib[/]x" in saved.stderr and (markup_library / "copy.toml").exists()
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "a", "label": "[/]"}\n{"text": "b", "label": "[red]"}\n')
    ev = run_cli("eval", "evil", "--library", lib, "--data", str(data), "--shots", "0",
                 "--confusion")  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    assert "[/]" in ev.stdout and "Traceback" not in ev.stderr


@pytest.mark.parametrize("command", [["complete", "-"], ["tokens", "-"], ["chat"],
                                     ["fewshot", "translate", "-"]])  # fmt: skip
def test_invalid_utf8_on_stdin_names_the_byte(command):
    proc = subprocess.run(
        [sys.executable, "-m", "gptplay", *command, "-m", "default"],
        input=b"The capital \xff\xfe",
        capture_output=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert "standard input is not UTF-8 text: byte 0xff at offset 12" in err
    assert "Traceback" not in err


def test_an_undecodable_argument_names_the_byte():
    proc = subprocess.run(
        [sys.executable, "-m", "gptplay", "complete", b"The \xff"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert b"not UTF-8 text: byte 0xff at character 5" in proc.stderr


HOSTILE_JSON = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "long integer": '{"format": "gptplay-chat", "version": ' + "9" * 10_000 + "}",
    "lone surrogate": json.dumps(
        {"format": "gptplay-chat", "version": 1, "messages": [{"role": "user", "content": "x"}]}
    ).replace('"x"', '"\\ud800"'),
}


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_hostile_conversation_files_are_one_error(tmp_path, text):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ChatFileError, match=r"c\.json.*not valid JSON"):
        Conversation.load(path)


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_hostile_eval_rows_are_one_error(tmp_path, text):
    path = tmp_path / "d.jsonl"
    path.write_text('{"sentence": "fine", "label": "positive"}\n' + text + "\n")
    with pytest.raises(DataError, match=r"d\.jsonl:2: not valid JSON"):
        load_examples(path, Library.default().load("sst2"))


def test_conversation_size_limits_are_named(tmp_path):
    big = tmp_path / "big.json"
    reply = "x" * 3_000_000
    big.write_text(json.dumps({"format": "gptplay-chat", "version": 1, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": reply}]}))  # fmt: skip
    with pytest.raises(ChatFileError, match="larger than 2,000,000 bytes"):
        Conversation.load(big)
    many = tmp_path / "many.json"
    turns = [{"role": ("user", "assistant")[i % 2], "content": ""} for i in range(10_002)]
    many.write_text(json.dumps({"format": "gptplay-chat", "version": 1, "messages": turns}))
    with pytest.raises(ChatFileError, match="has 10,002; a conversation holds at most 10,000"):
        Conversation.load(many)


@pytest.mark.model
def test_a_bad_load_in_the_repl_keeps_the_session(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    child = pexpect.spawn(
        sys.executable, ["-m", "gptplay", "chat", "-n", "4", "-t", "0"], timeout=60
    )
    child.expect("> ")
    child.sendline("/system Be terse.")
    child.expect("system prompt set")
    child.sendline(f"/load {deep}")
    child.expect("not valid JSON")
    child.sendline("/system")
    child.expect("system prompt: Be terse.")  # the session is as it was
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_fifo_is_refused_everywhere_without_blocking(tmp_path):
    fifo = tmp_path / "f.gguf"
    os.mkfifo(fifo)
    for args in (["models", "info", str(fifo)], ["complete", "x", "-m", str(fifo)],
                 ["tokens", "x", "-m", str(fifo)]):  # fmt: skip
        r = run_cli(*args, timeout=30)
        _one_line_error(r)
        assert "not a regular file" in r.stderr
    chat_fifo = tmp_path / "c.json"
    os.mkfifo(chat_fifo)
    with pytest.raises(ChatFileError, match="not a regular file"):
        Conversation.load(chat_fifo)
    prompt_fifo = tmp_path / "p.toml"
    os.mkfifo(prompt_fifo)
    with pytest.raises(PromptError, match="not a regular file"):
        load_file(prompt_fifo)


def test_a_symlink_loop_as_the_model_is_one_line(tmp_path):
    a, b = tmp_path / "a.gguf", tmp_path / "b.gguf"
    a.symlink_to(b)
    b.symlink_to(a)
    for args in (["models", "info", str(a)], ["complete", "x", "-m", str(a)]):
        r = run_cli(*args, timeout=30)
        _one_line_error(r)
        assert "symbolic link" in r.stderr


def _gguf_string(s: str) -> bytes:
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def test_gguf_arrays_nested_5000_deep_are_refused(tmp_path):
    path = tmp_path / "deep.gguf"
    body = struct.pack("<I", 4) + struct.pack("<Q", 1) + struct.pack("<I", 7)
    for _ in range(5000):
        body = struct.pack("<I", 9) + struct.pack("<Q", 1) + body
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _gguf_string("x.deep") + struct.pack("<I", 9)
    path.write_bytes(header + body)
    r = run_cli("models", "info", str(path), timeout=30)
    _one_line_error(r)
    assert "arrays nested more than 16 deep" in r.stderr


@pytest.mark.parametrize(
    "text, message",
    [
        ("[" + ".".join(["a"] * 5_000) + "]\n", f"at most {MAX_KEY_PARTS}"),
        (".".join(["k"] * 5_000) + " = 1\n", f"at most {MAX_KEY_PARTS}"),
        ("x = {" + ".".join(['"k"'] * 5_000) + " = 1}\n", f"at most {MAX_KEY_PARTS}"),
        ('description = "' + "d" * 5_000_000 + '"\n', f"at most {MAX_PROMPT_BYTES:,}"),
    ],
    ids=["table header", "dotted key", "inline table", "5 MB description"],
)
def test_toml_too_large_or_too_deep_is_refused_before_parsing(text, message):
    with pytest.raises(PromptError, match=message):
        parse_toml(text, "p.toml")


N = MAX_PROMPT_BYTES - 100  # each shape as large as a prompt file may be
SHAPES = {
    "one long key": "k" * N + " = 1\n",  # the old pre-check: minutes (issue 24 item 10)
    "an unclosed string": '"' + "k" * N + "\n",
    "escaped quotes": '"' + '\\"' * (N // 2) + "\n",
    "quotes": '"' * N,
    "dots": "." * N,
    "keys of 31 parts": (".".join(["a"] * 31) + " = 1\n") * (N // 66),
    "a deep dotted key": ".".join(["k"] * (N // 2)) + " = 1\n",
    "a deep quoted key": ".".join(['"k"'] * (N // 4)) + " = 1\n",
    "nested arrays": "x = " + "[" * (N // 2) + "]" * (N // 2) + "\n",
}


def test_any_shape_of_prompt_file_validates_or_is_refused_promptly(tmp_path):
    paths = []
    for n, text in enumerate(SHAPES.values()):
        paths.append(tmp_path / f"shape{n}.toml")
        paths[-1].write_text(text)
    # one process for all: the old dotted-key check alone took minutes on the first shape
    r = run_cli("library", "validate", *map(str, paths), timeout=20)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    out = r.stdout + r.stderr
    assert f"{len(paths)} file(s)" in out
    assert f"a dotted key of {N // 2:,} parts" in out and f"of {N // 4:,} parts" in out
    assert len(out) < 20_000  # a 250,000-character key is quoted in part, not whole


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a.b.c = 1", (3, 0)),
        ('x = 1\n[t]\ny = { \'a\' . b .\t"c\\".d" = 2 }', (3, 16)),
        ("a.b c.d.e", (3, 4)),  # a segment after no dot starts a new chain
        ("v = 1.5", None),
        ("v = 1.5.6.7", (4, 4)),  # in a value too: a false alarm needs limit + 1 parts
    ],
)
def test_dotted_chains_are_counted_in_one_pass(text, found):
    from gptplay.library.dotted import deep_dotted_key

    assert deep_dotted_key(text, 2) == found


def test_one_huge_prompt_file_does_not_stall_the_listing(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "huge.toml").write_text("[" + ".".join(["a"] * 100_000) + "]\n")
    (lib / "big.toml").write_text('description = "' + "d" * 5_000_000 + '"\n')
    r = run_cli("library", "list", "--library", str(lib), "--json", timeout=30)
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert "dotted key of 100,000 parts" in rows["huge"]["error"]
    assert "larger than 262,144 bytes" in rows["big"]["error"]
    assert rows["translate"]["title"]  # the rest still lists
    shown = run_cli("library", "show", "big", "--library", str(lib), timeout=30)
    _one_line_error(shown)


def test_a_non_utf8_prompt_file_names_the_byte_and_where(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'title = "ok"\ndescription = "caf\xe9"\n')
    with pytest.raises(PromptError, match=r"latin\.toml:2:19: not UTF-8 text: byte 0xe9"):
        load_file(path)


def test_a_non_utf8_data_file_names_the_byte_and_where(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"sentence": "ok", "label": "positive"}\n{"sentence": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl:2:18: not UTF-8 text \(byte 0xe9"):
        load_examples(path, Library.default().load("sst2"))


@pytest.mark.model
def test_tokens_bounds_its_table_and_its_input(tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("cat " * 6000)
    r = run_cli("tokens", "-", input=text.read_text(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert "more tokens: the table shows the first 5,000; --json prints every one" in r.stdout
    big = run_cli("tokens", "-", input="x" * 1_000_001, timeout=60)
    _one_line_error(big, 2)
    assert "at most 1,000,000" in big.stderr
