"""Saves that survive kill -9, concurrency and the user's umask (issue 17 items 13-14, 16.16)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gptplay import fileio
from gptplay.errors import GptplayError
from gptplay.fileio import FileExists, atomic_write, editor_copy, locked
from tests.conftest import run_cli


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        atomic_write(tmp_path / "a.toml", "x = 1\n")
        atomic_write(tmp_path / "b.png", b"\x89PNG")
    finally:
        os.umask(old)
    assert (tmp_path / "a.toml").stat().st_mode & 0o777 == mode
    assert (tmp_path / "b.png").stat().st_mode & 0o777 == mode


def test_an_existing_files_mode_is_kept(tmp_path):
    target = tmp_path / "c.json"
    target.write_text("{}")
    target.chmod(0o640)
    atomic_write(target, "[]")
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.read_text() == "[]"


def test_the_file_and_its_directory_are_fsynced(tmp_path, monkeypatch):
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.fstat(fd).st_mode), real(fd)))
    atomic_write(tmp_path / "d.toml", "y = 2\n")
    kinds = {"file" if (m & 0o170000) == 0o100000 else "dir" for m in synced}
    assert kinds == {"file", "dir"}


def test_stale_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "p.toml"
    dead = tmp_path / f".p.toml.{_dead_pid()}.abc123.tmp"
    live = tmp_path / f".p.toml.{os.getppid()}.def456.tmp"
    other = tmp_path / f".q.toml.{_dead_pid()}.abc123.tmp"
    for f in (dead, live, other):
        f.write_text("partial")
    atomic_write(target, "z = 3\n")
    assert not dead.exists()
    assert live.exists()  # another process may be writing it right now
    assert other.exists()  # another file's: not this save's business
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "p.toml"])


WRITER = """
import sys
from pathlib import Path
from gptplay.fileio import atomic_write
atomic_write(Path(sys.argv[1]), "x" * 200_000_000)
"""


def test_kill_9_during_a_save_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "big.toml"
    target.write_text("old = 1\n")
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)])
    deadline = time.monotonic() + 30
    while not any(p.suffix == ".tmp" for p in tmp_path.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, "no temporary appeared"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_text() == "old = 1\n"
    assert any(p.suffix == ".tmp" for p in tmp_path.iterdir())  # what kill -9 leaves
    atomic_write(target, "new = 2\n")
    assert target.read_text() == "new = 2\n"
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_exclusive_create_refuses_an_existing_file(tmp_path):
    target = tmp_path / "n.toml"
    atomic_write(target, "first\n", exclusive=True)
    with pytest.raises(FileExists, match="already exists"):
        atomic_write(target, "second\n", exclusive=True)
    assert target.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["n.toml"]


def _create(target: str, text: str, barrier) -> str:
    barrier.wait()
    try:
        atomic_write(Path(target), text, exclusive=True)
    except FileExists:
        return "refused"
    return "created"


def _set(path: str, key: str, value: int, barrier) -> None:
    from gptplay.config import write_value

    barrier.wait()
    write_value(key, value, Path(path))


def test_two_creates_at_once_one_wins_and_the_other_is_told(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for i in range(10):
        target = tmp_path / f"same{i}.toml"
        with ctx.Manager() as manager:
            barrier = manager.Barrier(2)
            with ctx.Pool(2) as pool:
                results = pool.starmap(
                    _create, [(str(target), "a\n", barrier), (str(target), "b\n", barrier)]
                )
        assert sorted(results) == ["created", "refused"]
        winner = "a\n" if results[0] == "created" else "b\n"
        assert target.read_text() == winner


def test_concurrent_config_sets_keep_both_changes(tmp_path):
    from gptplay.config import parse_config

    ctx = multiprocessing.get_context("fork")
    for i in range(10):
        path = tmp_path / f"config{i}.toml"
        with ctx.Manager() as manager:
            barrier = manager.Barrier(2)
            with ctx.Pool(2) as pool:
                pool.starmap(
                    _set,
                    [
                        (str(path), "sampling.temperature", 0.3, barrier),
                        (str(path), "sampling.top_k", 7, barrier),
                    ],
                )
        text = path.read_text()
        assert "temperature = 0.3" in text and "top_k = 7" in text, text
        parse_config(text, path)


def test_a_held_lock_times_out_with_one_readable_line(tmp_path):
    target = tmp_path / "config.toml"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from gptplay.fileio import locked
                with locked(__import__('pathlib').Path({str(target)!r})):
                    print('held', flush=True)
                    time.sleep(30)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        held = r"another gptplay has held .*\.config\.toml\.lock"
        with pytest.raises(GptplayError, match=held), locked(target, timeout=0.2):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_editor_copy_is_removed_and_a_killed_edits_copy_cleaned(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(fileio.tempfile, "tempdir", None)  # re-read TMPDIR
    folder = tmp_path / f"gptplay-edit-{os.getuid()}"
    folder.mkdir()
    stale = folder / f"translate.{_dead_pid()}.xyz.toml"
    stale.write_text("left by kill -9")
    with editor_copy("translate", "title = 1\n") as copy:
        assert copy.parent == folder and copy.read_text() == "title = 1\n"
        assert not stale.exists()
    assert not copy.exists()
    assert list(folder.iterdir()) == []


def test_library_edit_leaves_nothing_in_tmpdir(tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    r = run_cli("library", "edit", "translate", env={"EDITOR": "true", "TMPDIR": str(tmpdir)})
    assert r.returncode == 0, r.stderr
    assert [p for p in tmpdir.rglob("*") if p.is_file()] == []


def test_library_new_refuses_an_existing_prompt(tmp_path):
    lib = tmp_path / "lib"
    assert run_cli("library", "new", "mine", "--library", str(lib)).returncode == 0
    r = run_cli("library", "new", "mine", "--from", "topic", "--library", str(lib))
    assert r.returncode == 1
    assert "already exists" in r.stderr and "Traceback" not in r.stderr
    assert 'title = "mine"' in (lib / "mine.toml").read_text()


def _specials(tmp_path: Path) -> list[Path]:
    """A FIFO, a socket, a directory and a link to the FIFO, each named like an output file."""
    import socket

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock.json"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))  # the socket file stays after the close
    folder = tmp_path / "dir.json"
    folder.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    return [fifo, sock_path, folder, link]


@pytest.mark.parametrize("exclusive", [False, True])
def test_a_target_that_is_not_a_regular_file_is_refused_untouched(tmp_path, exclusive):
    # issue 24 item 11: the rename would have replaced a FIFO, socket or device by a file
    import stat

    from gptplay.errors import UsageError

    targets = _specials(tmp_path)
    for path, kind in zip(targets, ("a FIFO", "a socket", "a directory", "a FIFO")):
        before = path.lstat()
        with pytest.raises(UsageError) as info:
            atomic_write(path, "{}\n", exclusive=exclusive)
        assert f"it is {kind}" in info.value.message
        assert "not a regular file; nothing was written" in info.value.message
        assert "disk space" not in str(info.value)
        after = path.lstat()
        assert after.st_ino == before.st_ino
        assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
    # and no temporary is left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in targets)


def test_dev_null_is_refused_as_a_device():
    # the check only, never a write: tests may run as root, where a write replaced it
    from gptplay.errors import UsageError
    from gptplay.fileio import require_writable_target

    with pytest.raises(UsageError, match="it is a device, not a regular file"):
        require_writable_target(Path("/dev/null"))


def test_a_failed_write_hints_at_disk_space_only_when_the_disk_is_full(tmp_path):
    import errno

    from gptplay.fileio import _write_hint

    path = tmp_path / "out.json"
    assert "disk space" in _write_hint(OSError(errno.ENOSPC, "No space left"), path)
    for code in (errno.EACCES, errno.EROFS, errno.EISDIR, errno.ENAMETOOLONG):
        assert "disk space" not in _write_hint(OSError(code, "x"), path)


def test_eval_output_to_a_directory_is_refused_before_the_run(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"text": "good", "label": "positive"}\n')
    r = run_cli("eval", "sentiment", "--data", str(data), "--output", str(tmp_path), timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: Could not save {tmp_path}: it is a directory")
    assert "disk space" not in r.stderr and "Traceback" not in r.stderr
    assert "accuracy" not in r.stdout  # refused before anything ran


def test_chat_save_to_a_fifo_is_refused_and_the_fifo_kept(tmp_path):
    import stat

    from gptplay.chat import ChatSession, ScaffoldFormat
    from gptplay.chat.slash import handle
    from gptplay.engine.fake import FakeEngine
    from gptplay.engine.types import SamplingParams
    from gptplay.errors import UsageError
    from gptplay.library import load_prompt

    fifo = tmp_path / "chat.json"
    os.mkfifo(fifo)
    s = ChatSession(FakeEngine(n_ctx=4096), ScaffoldFormat(load_prompt("chat")), SamplingParams())
    with pytest.raises(UsageError, match="it is a FIFO"):
        handle(s, f"/save {fifo}")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
