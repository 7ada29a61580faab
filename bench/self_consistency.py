"""Benchmark: self-consistency's N chains share the prompt's KV cache (target >= 2x at N = 5).

The built-in word-problems prompt with K reasoning demonstrations on problems from
`--generate word-problems`, the embedded model, temperature 0.7, N samples per problem
with a vote, in one process and on the same thread count:
  (separate) N separate runs: the cache is emptied before every chain, so each chain
             decodes the whole prompt, then its own tokens, one at a time;
  (shared)   the chains one after another on a warm cache (what 1af4c58 did): the prompt
             is reused up to its last 64-token chunk boundary, the chains still one token
             per step each;
  (batched)  gptplay now: ``Generator`` through ``engine.stream_many``: the prompt decoded
             once, then one decode per step holding the next token of every chain.
Prints examples/s of each, batched/separate (the target) and batched/shared, the mean
chain length, and `uptime` before and after (the machine may be shared: say so).

    python bench/self_consistency.py [--examples 6] [--samples 5] [--shots 4] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import time


def uptime() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


class Separate:
    """The engine without stream_many, emptying the cache before every chain."""

    def __init__(self, engine, reset: bool) -> None:
        self._engine, self._reset = engine, reset

    def stream(self, *args, **kwargs):
        if self._reset:
            self._engine.reset()
        return self._engine.stream(*args, **kwargs)

    def __getattr__(self, name: str):
        if name == "stream_many":
            raise AttributeError(name)
        return getattr(self._engine, name)


def timed(generator, test, run) -> tuple[float, float, list]:
    t0 = time.perf_counter()
    preds = [generator.predict(run, i, ex) for i, ex in enumerate(test)]
    elapsed = time.perf_counter() - t0
    tokens = [len(s.tokens) for p in preds for s in p.samples]
    return len(test) / elapsed, sum(tokens) / len(tokens), preds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=6)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    from gptplay.engine.llama import LlamaEngine
    from gptplay.engine.types import SamplingParams
    from gptplay.evaluate.arithmetic import parse_generate
    from gptplay.evaluate.generate import Generator
    from gptplay.evaluate.run import Run
    from gptplay.library import load_prompt
    from gptplay.models import resolve_model

    spec = load_prompt("word-problems")
    task = parse_generate("word-problems")
    test, pool = task.examples(spec, args.examples)
    run = Run(args.shots, 0, pool[: args.shots], total=len(test))
    params = SamplingParams(
        temperature=0.7, max_tokens=args.max_tokens, stop=tuple(spec.stop) or ("\n",), seed=0
    )
    engine = LlamaEngine(resolve_model("default").path, n_ctx=4096, n_threads=args.threads)
    print("before:", uptime(), f"· threads {args.threads}")

    def gen(eng):
        return Generator(eng, spec, {}, params, args.samples, "numeric", vote=True)

    prompt_tokens = len(engine.tokenize(gen(engine).prompt(run.demos, test[0].fields)))
    gen(engine).predict(run, 0, test[0])  # warm-up: first-call allocations, not measured
    results = {}
    for name, eng in (
        ("separate", Separate(engine, reset=True)),
        ("shared", Separate(engine, reset=False)),
        ("batched", engine),
    ):
        engine.reset()
        results[name] = timed(gen(eng), test, run)
        rate, length, preds = results[name]
        vote = sum(p.vote_score for p in preds) / len(preds)
        print(f"{name:9s} {rate:6.3f} ex/s · mean chain {length:5.1f} tokens · vote {vote:.2f}")
    sep, shared, batched = (results[k][0] for k in ("separate", "shared", "batched"))
    print(
        f"N={args.samples}, {args.shots} shots, prompt ~{prompt_tokens} tokens, "
        f"{args.examples} problems: batched/separate {batched / sep:.2f}x (target >= 2x), "
        f"batched/shared {batched / shared:.2f}x"
    )
    print("after:", uptime())


if __name__ == "__main__":
    main()
