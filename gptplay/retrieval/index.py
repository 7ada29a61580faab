"""A BM25 index over a context's passages (the ``bm25s`` package), cached on disk.

The index of a context path is kept under the data directory
(``retrieval/<hash of the resolved path>/``): the passages, bm25s's sparse score matrix
and a manifest of every file's path, size and mtime. It is used again while the manifest
matches the files as they are now; a file added, removed or changed (size or mtime)
builds it again. Writes go to a temporary folder renamed into place, so an interrupted
build never leaves half an index behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from gptplay.retrieval.corpus import (
    PASSAGE_WORDS,
    ContextError,
    FileStat,
    Passage,
    chunk,
    collect,
    read_text,
    stat_files,
)

FORMAT = 1  # bump when chunking or the stored layout changes: older caches are rebuilt
STOPWORDS = "en"


@dataclass(frozen=True)
class Hit:
    """A passage chosen for a query, its BM25 score and its rank (1 is the best)."""

    rank: int
    score: float
    passage: Passage

    def as_dict(self) -> dict:
        p = self.passage
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "source": p.source,
            "line": p.line,
            "text": p.text,
        }


def tokenize(texts: list[str]) -> list[list[str]]:
    """bm25s's tokenizer (lower case, words of 2+ characters, English stopwords dropped)."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=STOPWORDS, return_ids=False, show_progress=False)


class ContextIndex:
    """Passages and their BM25 index; ``search(query, k)`` ranks them against a query."""

    def __init__(self, root: Path, passages: list[Passage], bm25, skipped: list[str]) -> None:
        self.root = root
        self.passages = passages
        self._bm25 = bm25
        self.skipped = skipped  # files left out of a directory (empty, binary), with why
        self.from_cache = False
        self.build_s = 0.0

    @classmethod
    def build(cls, root: Path, files: list[Path] | None = None) -> ContextIndex:
        """Read, chunk and index the context (no cache)."""
        import bm25s

        t0 = time.perf_counter()
        files = collect(root) if files is None else files
        named = root.is_file()
        passages: list[Passage] = []
        skipped: list[str] = []
        for path in files:
            rel = path.name if named else path.relative_to(root).as_posix()
            text = read_text(path, named)
            if text is None:
                skipped.append(rel)
                continue
            passages += chunk(text, rel)
        if not passages:
            raise ContextError(
                f"--context {root}: every file is empty or not text; nothing to retrieve from.",
                hint="give UTF-8 .txt or .md files with some text.",
            )
        bm25 = bm25s.BM25()
        bm25.index(tokenize([p.text for p in passages]), show_progress=False)
        index = cls(root, passages, bm25, skipped)
        index.build_s = time.perf_counter() - t0
        return index

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``k`` best passages for the query, best first; passages scoring 0 are left out."""
        if k <= 0 or not query.strip():
            return []
        terms = tokenize([query])
        if not terms[0]:
            return []
        k = min(k, len(self.passages))
        docs, scores = self._bm25.retrieve(terms, k=k, show_progress=False, n_threads=0)
        hits = []
        for doc, score in zip(docs[0], scores[0]):
            if float(score) <= 0:
                break
            hits.append(Hit(len(hits) + 1, float(score), self.passages[int(doc)]))
        return hits

    # ---- the cache on disk ----------------------------------------------------------

    def save(self, folder: Path, stats: list[FileStat]) -> None:
        """Write the index into ``folder`` atomically (a temporary folder renamed)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            self._bm25.save(str(tmp), show_progress=False)
            with open(tmp / "passages.jsonl", "w", encoding="utf-8") as f:
                for p in self.passages:
                    f.write(json.dumps(asdict(p), ensure_ascii=False) + "\n")
            manifest = _manifest(self.root, stats, self.skipped)
            (tmp / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder, ignore_errors=True)
            os.replace(tmp, folder)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, root: Path, folder: Path, stats: list[FileStat]) -> ContextIndex | None:
        """The cached index when its manifest matches the files now; else None."""
        import bm25s

        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if {**manifest, "skipped": []} != _manifest(root, stats, []):
                return None
            passages = []
            with open(folder / "passages.jsonl", encoding="utf-8") as f:
                for line in f:
                    passages.append(Passage(**json.loads(line)))
            bm25 = bm25s.BM25.load(str(folder), show_progress=False)
        except (OSError, ValueError, TypeError, KeyError):
            return None  # missing or damaged: built again
        if bm25.scores.get("num_docs") != len(passages):
            return None
        index = cls(root, passages, bm25, list(manifest.get("skipped", [])))
        index.from_cache = True
        return index


def _manifest(root: Path, stats: list[FileStat], skipped: list[str]) -> dict:
    return {
        "format": FORMAT,
        "passage_words": PASSAGE_WORDS,
        "stopwords": STOPWORDS,
        "root": str(root),
        "files": [[s.path, s.size, s.mtime_ns] for s in stats],
        "skipped": skipped,
    }


def cache_folder(root: Path, data_dir: Path) -> Path:
    """Where the index of ``root`` is cached: one folder per resolved context path."""
    key = hashlib.sha256(str(root).encode("utf-8")).hexdigest()[:16]
    return data_dir / "retrieval" / key


def open_index(path: str | Path, data_dir: Path | None = None) -> ContextIndex:
    """The index of a context path: from the cache when no file changed, else built and cached.

    ``data_dir`` defaults to gptplay's data directory (GPTPLAY_DATA_DIR). A cache that
    cannot be written leaves the index in memory only.
    """
    root = Path(path).expanduser()
    files = collect(root)
    root = root.resolve()
    files = [f.resolve() for f in files]
    stats = stat_files(root, files)
    if data_dir is None:
        from gptplay.paths import data_dir as default_data_dir

        data_dir = default_data_dir()
    folder = cache_folder(root, data_dir)
    cached = ContextIndex.load(root, folder, stats)
    if cached is not None:
        return cached
    index = ContextIndex.build(root, files)
    with contextlib.suppress(OSError):  # a read-only data directory: still serves this run
        index.save(folder, stats)
    return index
