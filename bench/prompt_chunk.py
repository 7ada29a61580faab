"""Benchmark: what the canonical prompt layout (engine/kvcache.py) costs in prompt processing.

The same ~1,500-token prompt is decoded from an empty cache, alternating the variants so
load on the machine hits them alike, on the same thread count:
  (base) one unpadded decode per 512 tokens (N_BATCH), the layout before; the baseline.
  (c=N)  the canonical layout: padded chunks of N tokens at absolute multiples of N,
         for N in 64, 128, 256, 512 (gptplay uses kvcache.CHUNK).
and the chat case: a 60-token reply appended to a cached prompt, which reuses the cache
up to the last chunk boundary and decodes the rest again. Medians of --reps runs; prints
tokens/s and the ratio to the baseline, with `uptime` before and after.

    python bench/prompt_chunk.py [--reps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

TEXT = (
    "In-context learning lets a language model pick up a task from a few demonstrations "
    "written in its prompt, without any update of its weights. "
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    from gptplay.engine import kvcache
    from gptplay.engine.llama import LlamaEngine
    from gptplay.models import embedded_model_path

    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    eng = LlamaEngine(embedded_model_path(), n_threads=args.threads, n_ctx=4096)
    cache = eng._cache  # a benchmark of the engine's own decode paths
    ids = eng.tokenize(TEXT * 60)[:1500]
    reply = eng.tokenize(TEXT * 3, add_bos=False)[:60]

    def base() -> None:
        cache.reset()
        cache.extend(ids)

    def chunked(n: int):
        def run() -> None:
            kvcache.CHUNK = n
            cache.reset()
            cache.fill(ids)

        return run

    variants = {"base (512, unpadded)": base}
    for n in (64, 128, 256, 512):
        variants[f"canonical, chunk {n}"] = chunked(n)
    times: dict[str, list[float]] = {k: [] for k in variants}
    base()
    for _ in range(args.reps):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    ref = len(ids) / statistics.median(times["base (512, unpadded)"])
    print(f"prompt of {len(ids)} tokens from an empty cache, {args.threads} threads:")
    for name, ts in times.items():
        rate = len(ids) / statistics.median(ts)
        print(f"  {name:24s} {rate:8.1f} tok/s  {rate / ref:.3f}x")
    print("a chat turn: a 1,000-token prompt, a 60-token reply, 10 new tokens:")
    for n in (64, 128, 256, 512):
        kvcache.CHUNK = n
        turn, decoded = [], 0
        for _ in range(args.reps):
            cache.reset()
            cache.fill(ids[:1000])
            for t in reply:  # a reply decoded one token at a time, as generation does
                cache.step(t)
            t0 = time.perf_counter()
            nxt = ids[:1000] + reply + ids[1000:1010]
            decoded = len(nxt) - cache.fill(nxt)
            turn.append(time.perf_counter() - t0)
        print(
            f"  chunk {n:3d}: {decoded:3d} tokens decoded, {statistics.median(turn) * 1000:5.0f} ms"
        )
    kvcache.CHUNK = 64
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
