"""Atomic writes of user files: a temporary file beside the target, then os.replace."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gptplay.errors import GptplayError


def atomic_write(path: Path, text: str) -> None:
    """Write text to path all at once; on failure (a full disk) the old file is untouched."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise GptplayError(f"Could not save {path}: {exc.strerror}.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise GptplayError(
            f"Could not save {path}: {exc.strerror}; the file there is unchanged.",
            hint="free some disk space or choose another directory, then save again.",
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
