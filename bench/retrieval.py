"""Benchmark: retrieval over 10,000 passages answers a query in <= 50 ms after indexing.

A context directory of N synthetic passages (100 files, seeded words from a 5,000-word
vocabulary, 61-110 words each so every paragraph is one passage) is written to a
temporary folder, then, in one process:
  (build)  open_index with an empty cache: read, chunk, index with bm25s, save;
  (load)   open_index again: the cached index, files unchanged;
  (bm25)   ContextIndex.search(query, k=3) for Q queries of 5 words: median and p95 ms;
  (naive)  the baseline in the same run: each query scored by word overlap against every
           passage in Python (no index), median ms, and the speed-up bm25/naive.
Prints the figures, the 50 ms target's verdict, and `uptime` before and after.

    python bench/retrieval.py [--passages 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from pathlib import Path


def uptime() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_corpus(root: Path, n: int, rng: random.Random) -> list[str]:
    vocab = [f"w{i}" for i in range(5000)]
    passages = [" ".join(rng.choices(vocab, k=rng.randint(61, 110))) for _ in range(n)]
    files = 100
    for f in range(files):
        part = passages[f::files]
        (root / f"doc{f:03d}.md").write_text("\n\n".join(part) + "\n", encoding="utf-8")
    return passages


def naive(passages: list[set[str]], query: list[str], k: int) -> list[int]:
    scores = [(sum(w in p for w in query), i) for i, p in enumerate(passages)]
    return [i for _, i in sorted(scores, reverse=True)[:k]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--passages", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    from gptplay.retrieval import open_index

    print("before:", uptime())
    rng = random.Random(0)
    with tempfile.TemporaryDirectory() as tmp:
        root, data = Path(tmp) / "ctx", Path(tmp) / "data"
        root.mkdir()
        texts = write_corpus(root, args.passages, rng)
        t0 = time.perf_counter()
        index = open_index(root, data)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        index = open_index(root, data)
        load = time.perf_counter() - t0
        assert index.from_cache and len(index.passages) == args.passages, len(index.passages)
        queries = [" ".join(rng.sample(rng.choice(texts).split(), 5)) for _ in range(args.queries)]
        index.search(queries[0], 3)  # first call: bm25s's lazy setup, not a query's cost
        times = []
        for q in queries:
            t0 = time.perf_counter()
            hits = index.search(q, 3)
            times.append(1000 * (time.perf_counter() - t0))
            assert hits, q
        sets = [set(t.split()) for t in texts]
        naive_times = []
        for q in queries[:20]:
            t0 = time.perf_counter()
            naive(sets, q.split(), 3)
            naive_times.append(1000 * (time.perf_counter() - t0))
    med, p95 = statistics.median(times), sorted(times)[int(0.95 * len(times)) - 1]
    nmed = statistics.median(naive_times)
    print(f"passages {args.passages} · build {build:.2f} s · load from cache {load:.2f} s")
    print(f"bm25 query (k=3): median {med:.2f} ms · p95 {p95:.2f} ms over {len(times)} queries")
    print(f"naive word-overlap scan: median {nmed:.2f} ms · bm25 is {nmed / med:.1f}x faster")
    print(f"target <= 50 ms per query: {'met' if p95 <= 50 else 'NOT met'} (p95)")
    print("after:", uptime())


if __name__ == "__main__":
    main()
