"""Writing user files: atomic and durable, with the user's umask, and a lock beside the target.

A write goes to a temporary file beside the target (``.NAME.PID.XXXX.tmp``), which is
fsynced, then renamed over the target, and the directory is fsynced too. A process killed
mid-write leaves its temporary behind; the next save of the same file removes it once the
process that made it is gone. Read-modify-write updates (``config set``, saving a prompt
over its old file) hold ``locked(path)``, a lock file ``.NAME.lock`` beside the target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gptplay.errors import GptplayError, UsageError

# How long a save waits for another gptplay process that holds the same file's lock.
LOCK_TIMEOUT_S = 10.0


class FileExists(GptplayError):
    """A file that was to be created new is already there."""


def _umask() -> int:
    """The process umask, read without changing it where Linux can tell (threads are running)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode a new file gets from the user's umask, as any other tool would give it."""
    return 0o666 & ~_umask()


def _tmp_prefix(path: Path) -> str:
    return f".{path.name}."


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporaries a killed gptplay left beside path (their process is gone)."""
    pattern = re.compile(re.escape(_tmp_prefix(path)) + r"(\d+)\.[^.]+\.tmp\Z")
    removed = []
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for candidate in candidates:
        m = pattern.match(candidate.name)
        if m and not _alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is writing nothing else to this name right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # someone else's process, or not a pid: leave it alone
    return True


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Path, data: str | bytes, *, exclusive: bool = False) -> None:
    """Write data to path all at once; on failure (a full disk) the old file is untouched.

    ``exclusive`` creates a new file and raises FileExists if one is there already, even
    when another process creates it at the same moment.
    """
    path = Path(path)
    require_writable_target(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f"{_tmp_prefix(path)}{os.getpid()}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise GptplayError(f"Could not save {path}: {exc.strerror}.") from None
    try:
        try:
            mode = path.stat().st_mode & 0o7777
        except OSError:
            mode = new_file_mode()
        os.fchmod(fd, mode)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            _link_new(Path(tmp), path)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise GptplayError(
            f"Could not save {path}: {exc.strerror}; the file there is unchanged.",
            hint=_write_hint(exc, path),
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words (None for a regular file)."""
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    ):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def require_writable_target(path: Path) -> None:
    """Refuse a target that exists and is not a regular file, before anything is written.

    The write renames a temporary over the target: that would replace a FIFO, a socket or
    a device (as root, /dev/null itself) with a regular file, and fails on a directory.
    """
    try:
        mode = path.stat().st_mode  # through a symbolic link: what it points at counts
    except OSError:
        return  # missing (or unreadable): the write itself says why it cannot save
    kind = _kind(mode)
    if kind is not None:
        hint = "name a file inside it" if kind == "a directory" else "give the path of a file"
        raise UsageError(
            f"Could not save {path}: it is {kind}, not a regular file; nothing was written.",
            hint=f"{hint}, like {path / 'out.json' if kind == 'a directory' else 'out.json'}.",
        )


def _write_hint(exc: OSError, path: Path) -> str:
    """What to do about a failed write: the hint fits the error, not always 'disk space'."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "free some disk space or choose another directory, then save again."
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"check the permissions of {path.parent}, or choose another directory."
    if exc.errno == errno.EROFS:
        return "the file system is read-only: choose another directory."
    return "choose another path, then save again."


def _link_new(tmp: Path, path: Path) -> None:
    """Give the finished temporary the target's name only if that name is free."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExists(f"{path} already exists; it was left as it was.") from None
    except OSError:  # a file system without hard links: check and rename under the lock
        with locked(path):
            if path.exists():
                raise FileExists(f"{path} already exists; it was left as it was.") from None
            os.replace(tmp, path)
        return
    tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside path for a read-modify-write, so no update is lost.

    An flock on the lock file; the holder removes the file before releasing it, and a
    waiter that then gets a lock on the removed file tries again, so no lock file is left
    behind and two processes never hold it at once.
    """
    path = Path(path)
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _acquire(lock_path, timeout)
    except TimeoutError:
        raise GptplayError(
            f"Could not save {path}: another gptplay has held {lock_path} for over "
            f"{timeout:g} s; nothing was changed.",
            hint="wait for it to finish, or remove the lock file if no gptplay is running.",
        ) from None
    except OSError as exc:
        raise GptplayError(f"Could not save {path}: {exc.strerror} ({lock_path}).") from None
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)


def _acquire(lock_path: Path, timeout: float) -> int:
    """An open, flocked descriptor of the lock file that is still at lock_path."""
    import fcntl
    import time

    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, new_file_mode())
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError from None
                    time.sleep(0.01)
            try:
                same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False  # the holder removed it as it let go: lock the new one
            if same:
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


@contextlib.contextmanager
def editor_copy(stem: str, text: str) -> Iterator[Path]:
    """A private ``STEM.PID.XXXX.toml`` for an editor; removed when the edit ends.

    Copies live in ``$TMPDIR/gptplay-edit-UID``; one left by a killed gptplay is removed by
    the next edit.
    """
    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    folder = Path(tempfile.gettempdir()) / f"gptplay-edit-{uid}"
    pattern = re.compile(r".+\.(\d+)\.[^.]+\.toml\Z")
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        for old in folder.iterdir():
            m = pattern.match(old.name)
            if m and not _alive(int(m.group(1))):
                old.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{stem}.{os.getpid()}.", suffix=".toml", dir=folder)
    except OSError as exc:
        raise GptplayError(
            f"Could not make the editor's copy in {folder}: {exc.strerror}."
        ) from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def require_regular_file(path: Path, what: str, error: type[GptplayError] = GptplayError) -> None:
    """Refuse a path that exists but is not a regular file: a FIFO would block a read forever."""
    try:
        st = path.stat()
    except OSError:
        return  # missing (or a symlink loop): the caller's own open reports it
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a FIFO or device)"
        )
        raise error(f"{path}: {what} is {kind}.", hint="give the path of a regular file.")
