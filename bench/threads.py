"""Benchmark: generation tok/s by thread count, with and without one busy core.

llama.cpp's threads meet at a barrier every step, so a process spinning on one core can
stall every step. For 1 and 2 threads (and the physical-core count on larger machines),
interleaved over --reps rounds, N tokens each (default 64), on the embedded model:
  quiet: nothing else started by this bench;
  busy:  a background process spinning on one core, bounded by --busy-s seconds.
Threads are switched on one loaded context (llama_set_n_threads). Prints the median
tok/s per cell and `uptime` beside every round; runs in well under 3 minutes by default.

    python bench/threads.py [--tokens 64] [--reps 3] [--threads 1,2] [--busy-s 120]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

SPIN = "import time\nend = time.time() + {s}\nwhile time.time() < end: pass\n"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def physical_cores() -> int:
    """Distinct (package, core) pairs in sysfs: hyperthreads counted once."""
    import glob

    pairs = set()
    for topo in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology"):
        try:
            with open(f"{topo}/physical_package_id") as a, open(f"{topo}/core_id") as b:
                pairs.add((a.read().strip(), b.read().strip()))
        except OSError:
            continue
    return len(pairs) or os.cpu_count() or 1


def rate(engine, threads: int, n: int) -> float:
    from gptplay.engine.types import SamplingParams

    lc = engine._lc
    lc.llama_set_n_threads(engine._loaded.ctx, threads, threads)
    engine.reset()
    c = engine.stream("Once upon a time,", SamplingParams(max_tokens=n, seed=7)).run()
    return c.tokens_per_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default=None, help="comma list (default: 1,2 and the cores)")
    ap.add_argument("--busy-s", type=float, default=120.0, help="bound on the busy process")
    args = ap.parse_args()
    counts = sorted(
        {1, 2, physical_cores()}
        if args.threads is None
        else {int(x) for x in args.threads.split(",")}
    )

    from gptplay.engine.llama import LlamaEngine
    from gptplay.models import embedded_model_path

    engine = LlamaEngine(embedded_model_path(), n_ctx=512, n_threads=max(counts))
    rate(engine, 1, 8)  # warm up
    cells: dict[tuple[str, int], list[float]] = {}
    for rep in range(args.reps):
        for mode in ("quiet", "busy"):
            spin = None
            if mode == "busy":
                spin = subprocess.Popen([sys.executable, "-c", SPIN.format(s=args.busy_s)])
            try:
                for t in counts:
                    r = rate(engine, t, args.tokens)
                    cells.setdefault((mode, t), []).append(r)
                    print(f"round {rep + 1} {mode:<5} {t} threads {r:6.1f} tok/s  (load {load()})")
            finally:
                if spin is not None:
                    spin.kill()
                    spin.wait()
    print(f"\nmedian tok/s, {args.tokens} tokens, {args.reps} rounds (load now {load()})")
    print(f"{'threads':>8}{'quiet':>10}{'busy core':>11}")
    for t in counts:
        q = statistics.median(cells[("quiet", t)])
        b = statistics.median(cells[("busy", t)])
        print(f"{t:>8}{q:>10.1f}{b:>11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
