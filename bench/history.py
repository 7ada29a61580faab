"""Benchmark: recording a run in the history must not slow the run down.

Same prompt and seed, N tokens (default 256) with the top-5 alternatives, on the embedded
model, in one process: runs with history off (A) and on (B) alternate, A B B A A B ..., and
the medians are compared. Tokens/s is timed between the first and the last token (the
token path, which never waits for the database); the wall time of a whole run includes
the write at its end. Also prints the median write time and what one run costs in the
database (its file's growth over the runs recorded). Target: B/A >= 0.99 in tokens/s.

    python bench/history.py [--tokens 256] [--reps 7] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

PROMPT = "Once upon a time, in a small village at the edge of a great forest,"
SEED = 42


def write_cost(engine, n: int, reps: int = 20) -> tuple[float, float]:
    """Median ms to encode and to encode-and-write one n-token run's record (no model call)."""
    from gptplay import history
    from gptplay.engine.types import SamplingParams
    from gptplay.history import codec

    params = SamplingParams(temperature=0.8, max_tokens=n, seed=SEED)
    completion = engine.stream(PROMPT, params, top=5, probs=True).run()
    settings = history.settings_dict(params, engine, top=5, probs=True)
    encode, write = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        codec.encode(completion.events)
        t1 = time.perf_counter()
        history.write(history.build("complete", PROMPT, engine, settings, completion))
        t2 = time.perf_counter()
        encode.append(t1 - t0)
        write.append(t2 - t1)
    return 1000 * statistics.median(encode), 1000 * statistics.median(write)


def one_run(engine, n: int, record: bool) -> tuple[float, float, float]:
    """(tokens/s first to last token, wall seconds of the whole run, seconds of the write)."""
    from gptplay import history
    from gptplay.engine.types import SamplingParams

    engine.reset()
    params = SamplingParams(temperature=0.8, max_tokens=n, seed=SEED)
    start = time.perf_counter()
    stream = engine.stream(PROMPT, params, top=5, probs=True)
    settings = history.settings_dict(params, engine, top=5, probs=True)
    count, first, last = 0, 0.0, 0.0
    with history.recording(stream, "complete", PROMPT, engine, settings, on=record):
        for _ in stream:
            count += 1
            last = time.perf_counter()
            if count == 1:
                first = last
    end = time.perf_counter()
    rate = (count - 1) / (last - first) if count > 1 else 0.0
    return rate, end - start, end - last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--write-only", action="store_true", help="only the write's cost")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="gptplay-bench-history-"))
    os.environ["GPTPLAY_DATA_DIR"] = str(data)  # never the user's own history

    from gptplay.engine.llama import LlamaEngine
    from gptplay.history import store
    from gptplay.models import embedded_model_path

    engine = LlamaEngine(embedded_model_path(), n_ctx=2048, n_threads=args.threads)
    one_run(engine, 8, record=True)  # warm up, and create the database
    if args.write_only:
        encode_ms, write_ms = write_cost(engine, args.tokens)
        print(f"{args.tokens} tokens, top-5: encoding {encode_ms:.1f} ms, "
              f"building and writing the record {write_ms:.1f} ms (medians of 20)")  # fmt: skip
        return
    size0 = store.db_path().stat().st_size
    off: list[tuple[float, float, float]] = []
    on: list[tuple[float, float, float]] = []
    for rep in range(args.reps):  # A B, then B A: a drift in the machine's load cancels out
        for record in (False, True) if rep % 2 == 0 else (True, False):
            (on if record else off).append(one_run(engine, args.tokens, record))
    conn = store.connect()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    per_run = (store.db_path().stat().st_size - size0) / args.reps

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    threads = engine.threads
    print(f"{args.tokens} tokens, top-5, {threads} thread(s), {args.reps} runs each, interleaved")
    print(f"  load: {load}")
    print(f"  history off: {med(off, 0):6.1f} tok/s   run {med(off, 1):.3f} s")
    print(f"  history on:  {med(on, 0):6.1f} tok/s   run {med(on, 1):.3f} s")
    print(f"  ratio on/off: tokens/s {med(on, 0) / med(off, 0):.3f}   run time "
          f"{med(on, 1) / med(off, 1):.3f}")  # fmt: skip
    write_ms = 1000 * (med(on, 2) - med(off, 2))
    print(f"  the write after the last token: {write_ms:.1f} ms (median, on minus off)")
    print(f"  database growth per {args.tokens}-token run: {per_run / 1024:.1f} KiB")
    encode_ms, write_ms = write_cost(engine, args.tokens)
    print(f"  alone, median of 20: encoding the tokens {encode_ms:.1f} ms, "
          f"building and writing the record {write_ms:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
