"""A setting's value read from a file (a --grammar .gbnf, a --json-schema .json): one reader.

Regular files only (a FIFO would block the read forever), at most MAX_BYTES, UTF-8 text; a
relative path in a prompt file is taken from the prompt file's folder.
"""

from __future__ import annotations

import stat
from pathlib import Path

from gptplay.errors import UsageError

MAX_BYTES = 1_048_576  # far more than any grammar or schema a person writes


def read_setting_file(value: str, base: Path | None, what: str, hint: str) -> str:
    """The text of the file ``value`` names; a UsageError naming it when it cannot be read."""
    path = Path(value).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path

    def refuse(why: str) -> UsageError:
        return UsageError(f"cannot read the {what} file {path}: {why}.", hint=hint)

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise refuse(f"it is {kind}")
        if st.st_size > MAX_BYTES:
            raise refuse(f"it has {st.st_size:,} bytes, over the {MAX_BYTES:,} a file may have")
        return path.read_bytes()[: MAX_BYTES + 1].decode("utf-8")
    except OSError as exc:
        raise refuse(exc.strerror or "unreadable") from None
    except UnicodeDecodeError:
        raise refuse("not UTF-8 text") from None
