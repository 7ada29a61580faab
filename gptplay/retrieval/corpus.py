"""Reading a context directory: which files count, and how they split into passages.

Text and markdown files only (``SUFFIXES``). A passage is a run of whole paragraphs
(blocks between blank lines) of at most ``PASSAGE_WORDS`` words; a markdown heading
starts a new passage, and a paragraph longer than the limit is cut into windows of that
many words. Each passage keeps its file and first line, so a listing can point at it.
The walk is bounded: at most ``MAX_FILES`` files are read and at most ``MAX_ENTRIES``
directory entries looked at, so a huge tree is refused at once instead of hanging.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gptplay.errors import UsageError

SUFFIXES = (".txt", ".md", ".markdown", ".text", ".rst")
PASSAGE_WORDS = 120
MAX_FILES = 10_000
MAX_ENTRIES = 50_000  # directory entries of any kind looked at before giving up
MAX_FILE_BYTES = 8 * 1024 * 1024


class ContextError(UsageError):
    """A --context path that cannot be used, named with how to fix it."""


@dataclass(frozen=True)
class Passage:
    """One chunk of a context file: where it comes from (file, first line) and its text."""

    source: str  # the file, relative to the context root (its name for a single file)
    line: int
    text: str


@dataclass(frozen=True)
class FileStat:
    """What decides whether a cached index is stale: a file's path, size and mtime."""

    path: str
    size: int
    mtime_ns: int


def collect(root: Path) -> list[Path]:
    """The context's files: ``root`` itself, or its text and markdown files, sorted."""
    if not root.exists():
        raise ContextError(
            f"--context {root}: no such file or directory.",
            hint="give a directory of .txt/.md files, or one such file.",
        )
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise ContextError(f"--context {root}: not a file or a directory.")
    found: list[Path] = []
    for path in _walk(root):
        if path.suffix.lower() in SUFFIXES:
            found.append(path)
            if len(found) > MAX_FILES:
                raise ContextError(
                    f"--context {root}: over {MAX_FILES:,} text files; gptplay indexes at "
                    f"most {MAX_FILES:,}.",
                    hint="point --context at a subfolder, or merge small files.",
                )
    if not found:
        raise ContextError(
            f"--context {root}: no text or markdown files in it ({', '.join(SUFFIXES)}).",
            hint="give a directory of .txt/.md files, or one such file.",
        )
    return sorted(found)


def _walk(root: Path) -> Iterator[Path]:
    """Every regular file under root (hidden names skipped, symlinked folders not followed)."""
    stack = [root]
    seen = 0
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            raise ContextError(f"--context {folder}: cannot be read ({exc.strerror}).") from None
        seen += len(entries)
        if seen > MAX_ENTRIES:
            raise ContextError(
                f"--context {root}: over {MAX_ENTRIES:,} entries in the tree; gptplay does "
                "not walk trees that large.",
                hint="point --context at the folder that holds the documents.",
            )
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file():
                yield Path(entry.path)


def stat_files(root: Path, files: list[Path]) -> list[FileStat]:
    """Each file's path (relative to root), size and mtime: the index's fingerprint."""
    out = []
    for path in files:
        st = path.stat()
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        out.append(FileStat(rel, st.st_size, st.st_mtime_ns))
    return out


def read_text(path: Path, named: bool) -> str | None:
    """A file's text; None for one to skip in a directory (empty, binary), an error if named.

    ``named``: the user gave this file itself as --context, so a problem is an error.
    """
    size = path.stat().st_size
    problem = None
    if size == 0:
        problem = "is empty"
    elif size > MAX_FILE_BYTES:
        problem = f"is over {MAX_FILE_BYTES // (1024 * 1024)} MiB"
    else:
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            problem = "is binary (it holds NUL bytes), not text"
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                problem = f"is not UTF-8 text (line {line})"
            else:
                if not text.strip():
                    problem = "holds only whitespace"
                else:
                    return text
    if named:
        raise ContextError(
            f"--context {path}: the file {problem}: nothing to retrieve from it.",
            hint="give a UTF-8 .txt or .md file with some text, or a directory of them.",
        )
    return None


def chunk(text: str, source: str, words: int = PASSAGE_WORDS) -> list[Passage]:
    """Split a file's text into passages of whole paragraphs, at most ``words`` words each."""
    out: list[Passage] = []
    parts: list[str] = []
    count, first = 0, 1

    def flush() -> None:
        nonlocal parts, count
        if parts:
            out.append(Passage(source, first, "\n".join(parts)))
        parts, count = [], 0

    for line_no, para in _paragraphs(text):
        n = len(para.split())
        if para.lstrip().startswith("#") or count + n > words:
            flush()
        if n > words:  # one long paragraph: windows of ``words`` words
            tokens = para.split()
            for i in range(0, len(tokens), words):
                out.append(Passage(source, line_no, " ".join(tokens[i : i + words])))
            continue
        if not parts:
            first = line_no
        parts.append(para)
        count += n
    flush()
    return out


def _paragraphs(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each block between blank lines."""
    block: list[str] = []
    start = 1
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not block:
                start = n
            block.append(line.rstrip())
        elif block:
            yield start, "\n".join(block)
            block = []
    if block:
        yield start, "\n".join(block)
