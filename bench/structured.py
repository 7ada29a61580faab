"""Benchmark: what a constraint costs against unconstrained generation (issue 21).

One engine (the embedded model, the same threads and context), alternating the variants of
each pair A B A B ... so load on the machine hits both alike; medians are compared.

  schema   a JSON-schema run (the grammar llama-cpp-python's converter makes) against an
           unconstrained run of the same prompt and the same number of tokens; tok/s timed
           between the first and the last token, with probabilities and the top-5 on (the
           default display: the constrained probability is computed every token) and off.
  bias     --logit-bias (three entries, one a ban) against none, same prompt and length.
  choices  --choice over four labels against an unconstrained run of the same length, on a
           few-shot classification prompt; the whole run is timed (one or two tokens, the
           prompt's KV cache warm for both).
  memory   peak RSS (max resident set) of a schema run and an unconstrained run, each in a
           fresh subprocess.

Targets (issue 21): schema >= 0.85x, bias and choices >= 0.97x, memory <= 1.05x.
Prints `uptime` before and after: compare figures only from a quiet machine.

    python bench/structured.py [--reps 5] [--threads N] [--tokens 64]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 60},
        "year": {"type": "integer"},
        "genres": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 4},
        "summary": {"type": "string", "maxLength": 100},
    },
    "required": ["title", "year", "genres", "summary"],
    "additionalProperties": False,
}
SCHEMA_PROMPT = (
    "Describe the film Casablanca (1942) as a JSON object with its title, year, genres "
    "and a one-sentence summary.\nJSON:"
)
FREE_PROMPT = "Once upon a time, in a small village at the edge of a great forest,"
BIAS = (" the=-2", " forest=3", " and=ban")
CHOICE_PROMPT = (
    "Message: I was charged twice for one order.\nIntent: billing\n\n"
    "Message: The courier left my parcel at the wrong house.\nIntent: delivery\n\n"
    "Message: I cannot log in to my profile.\nIntent: account\n\n"
    "Message: Is the kettle dishwasher safe?\nIntent: product\n\n"
    "Message: My parcel still has not arrived.\nIntent:"
)
CHOICES = ("billing", "delivery", "account", "product")


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def load(threads: int):
    from gptplay.engine.llama import LlamaEngine
    from gptplay.models import embedded_model_path

    return LlamaEngine(embedded_model_path(), n_ctx=2048, n_threads=threads)


def timed(engine, prompt: str, params, probs: bool = True) -> tuple[int, float, float]:
    """(tokens, tok/s between the first and the last token, whole run in s)."""
    stamps: list[float] = []
    start = time.perf_counter()
    for _ in engine.stream(prompt, params, top=5 if probs else 0, probs=probs):
        stamps.append(time.perf_counter())
    whole = time.perf_counter() - start
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    return len(stamps), rate, whole


def pair(engine, a, b, reps: int, key: int) -> tuple[float, float]:
    """Medians of figure ``key`` (1: tok/s, 2: whole run) for a() and b(), interleaved."""
    xs, ys = [], []
    for _ in range(reps):
        xs.append(a()[key])
        ys.append(b()[key])
    return statistics.median(xs), statistics.median(ys)


def peak_rss(kind: str, threads: int, tokens: int) -> float:
    """Max RSS in MB of one run in a fresh process (``kind``: schema or free)."""
    here = os.path.abspath(__file__)
    out = subprocess.run(
        [sys.executable, here, "--rss", kind, "--threads", str(threads), "--tokens", str(tokens)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return float(out.stdout.split()[-1])


def one_run_rss(kind: str, threads: int, tokens: int) -> None:
    """--rss KIND: one run in this fresh process, then its max RSS in MB."""
    from gptplay.engine.types import SamplingParams as P

    engine = load(threads)
    schema = json.dumps(SCHEMA) if kind == "schema" else None
    engine.stream(SCHEMA_PROMPT, P(temperature=0, max_tokens=tokens, json_schema=schema)).run()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    from gptplay.engine.types import SamplingParams as P

    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--rss", choices=("schema", "free"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.rss:
        one_run_rss(args.rss, args.threads, args.tokens)
        return
    print("before:", uptime())
    engine = load(args.threads)
    print(f"threads {engine.threads}, {args.reps} interleaved reps, medians")

    schema = P(temperature=0, max_tokens=args.tokens, json_schema=json.dumps(SCHEMA))
    n, _, _ = timed(engine, SCHEMA_PROMPT, schema)  # warm, and the length to match
    free = P(temperature=0, max_tokens=n)
    print(f"\nschema: {n} tokens each")
    for probs in (True, False):
        s, f = pair(
            engine,
            lambda probs=probs: timed(engine, SCHEMA_PROMPT, schema, probs),
            lambda probs=probs: timed(engine, SCHEMA_PROMPT, free, probs),
            args.reps,
            1,
        )
        label = "probs + top-5" if probs else "no probs"
        print(f"  {label:14} schema {s:6.1f} tok/s  unconstrained {f:6.1f}  ratio {s / f:.3f}")
    stream = engine.stream(SCHEMA_PROMPT, schema)
    stream.run()
    c = stream.completion
    print(f"  output valid: {c.schema_valid}; draws refused: {c.refused}; text: {c.text[:70]}")

    biased = P(temperature=0.8, seed=7, max_tokens=args.tokens, logit_bias=BIAS)
    plain = P(temperature=0.8, seed=7, max_tokens=args.tokens)
    b, f = pair(
        engine,
        lambda: timed(engine, FREE_PROMPT, biased),
        lambda: timed(engine, FREE_PROMPT, plain),
        args.reps,
        1,
    )
    print(f"\nbias ({', '.join(BIAS)}), {args.tokens} tokens, probs + top-5")
    print(f"  biased {b:6.1f} tok/s  unbiased {f:6.1f}  ratio {b / f:.3f}")

    choice = P(temperature=0, max_tokens=4, choices=CHOICES)
    n, _, _ = timed(engine, CHOICE_PROMPT, choice)
    free = P(temperature=0, max_tokens=n)
    timed(engine, CHOICE_PROMPT, free)
    c_s, f_s = pair(
        engine,
        lambda: timed(engine, CHOICE_PROMPT, choice),
        lambda: timed(engine, CHOICE_PROMPT, free),
        max(args.reps, 9),
        2,
    )
    print(f"\nchoices ({n} tokens, whole run, prompt cache warm)")
    print(f"  choices {1000 * c_s:6.1f} ms  unconstrained {1000 * f_s:6.1f} ms  "
          f"speed ratio {f_s / c_s:.3f}")  # fmt: skip

    m_s = peak_rss("schema", args.threads, args.tokens)
    m_f = peak_rss("free", args.threads, args.tokens)
    print(f"\npeak RSS: schema {m_s:.0f} MB  unconstrained {m_f:.0f} MB  ratio {m_s / m_f:.3f}")
    here = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(this process: {here:.0f} MB)")
    print("after:", uptime())


if __name__ == "__main__":
    main()
