"""Benchmark: one `gptplay compare` against six separate `gptplay complete` processes.

The comparison: translate, 3 shot counts x 2 temperatures, on one query, one seed. (A) is
a single `gptplay compare ... --json` process; (B) is six `gptplay complete` processes,
one per variant, each given the variant's exact prompt and settings (read from A's JSON
records), as a user without `compare` would run them. Wall-clock time of each, A and B
alternating over several repetitions; medians and the ratio B/A are printed, with the load
average before and after (the machine is shared). How many of A's texts equal B's is
printed too: with the canonical prompt layout (engine/kvcache.py) every variant must give
what it gives on its own, so anything but 6/6 is a bug.

    python bench/compare.py [--reps 3] [--input cheese] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SHOTS, TEMPS, SEED = "0,1,3", "0,0.8", 1234


def gptplay(*args: str) -> tuple[float, str]:
    """Run `gptplay ARGS` as a user would; (wall seconds, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "gptplay", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"gptplay {' '.join(args[:3])} failed: {proc.stderr.strip()}")
    return elapsed, proc.stdout


def compare_once(query: str, extra: list[str]) -> tuple[float, list[dict]]:
    args = ("compare", "translate", "--shots", SHOTS, "-t", TEMPS, "--input", query)
    elapsed, out = gptplay(*args, "--seed", str(SEED), "--json", *extra)
    records = [json.loads(line) for line in out.splitlines()]
    return elapsed, [r for r in records if r["type"] == "variant"]


def complete_args(variant: dict) -> list[str]:
    """`gptplay complete` with one variant's exact prompt and settings."""
    s = variant["settings"]
    args = ["complete", variant["prompt"], "--json", "--seed", str(s["seed"])]
    for key in ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "max_tokens"):
        args += [f"--{key.replace('_', '-')}", str(s[key])]
    for stop in s["stop"]:
        args += ["--stop", stop.replace("\n", "\\n")]
    return args


def separate_once(variants: list[dict], extra: list[str]) -> tuple[float, list[str]]:
    total, texts = 0.0, []
    for v in variants:
        elapsed, out = gptplay(*complete_args(v), *extra)
        total += elapsed
        texts.append(json.loads(out.splitlines()[-1])["text"])
    return total, texts


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--input", default="cheese")
    parser.add_argument("--threads", type=int, help="passed to both (default: the engine's)")
    args = parser.parse_args()
    extra = ["--threads", str(args.threads)] if args.threads else []
    print(f"before: {load()} · threads: {args.threads or 'default'}")
    _, variants = compare_once(args.input, extra)  # warm-up: the model assembled, page cache
    a_times, b_times = [], []
    for rep in range(args.reps):
        a, variants = compare_once(args.input, extra)
        b, texts = separate_once(variants, extra)
        a_times.append(a)
        b_times.append(b)
        same = sum(t == v["summary"]["text"] for t, v in zip(texts, variants))
        print(
            f"rep {rep + 1}: compare {a:.2f} s · 6 x complete {b:.2f} s · "
            f"same text {same}/{len(texts)} · {load()}"
        )
    a, b = statistics.median(a_times), statistics.median(b_times)
    cached = sum(v["summary"]["cached_tokens"] for v in variants)
    prompt = sum(v["prompt_tokens"] for v in variants)
    print(f"prompt tokens: {prompt} in all, {cached} taken from the KV cache by compare")
    print(f"median: compare {a:.2f} s, six separate processes {b:.2f} s, ratio {b / a:.2f}x")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
