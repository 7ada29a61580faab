"""Benchmark: what choosing demonstrations per example costs (--select similar vs random).

SST-2 from ../shared/datasets (sst2_dev test examples, sst2_train as the pool), the `sst2`
prompt, K shots, the embedded model, in one process on the same thread count:
  (random)   one seeded draw of K demonstrations for every example: the engine keeps the
             instruction and demonstrations in its KV cache, each example decodes only its
             own tokens and the labels';
  (similar)  each example's K nearest pool examples by BM25: the prompt differs right
             after the instruction, so each example decodes its demonstrations again.
Prints examples/s and prompt tokens decoded per example (a count the machine's load does
not change) for each, the ratio, the one-off cost of indexing the pool, and `uptime`.

    python bench/select_cost.py [--examples 40] [--shots 4] [--threads N] [--datasets DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def uptime() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=40)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--datasets", type=Path, default=DATASETS, help="where sst2_*.jsonl are")
    args = ap.parse_args()
    from gptplay.engine.llama import LlamaEngine
    from gptplay.evaluate import EvalConfig, LabelScorer, evaluate, load_examples, subset
    from gptplay.evaluate.similar import DemoRanker, example_text
    from gptplay.library import load_prompt
    from gptplay.models import resolve_model

    spec = load_prompt("sst2")
    columns = {n: n for n in (*spec.query_fields, spec.answer)}
    test = subset(load_examples(args.datasets / "sst2_dev.jsonl", spec, columns), args.examples)
    pool = load_examples(args.datasets / "sst2_train.jsonl", spec, columns)
    engine = LlamaEngine(resolve_model("default").path, n_ctx=4096, n_threads=args.threads)
    config = EvalConfig(shots=(args.shots,), seeds=1)
    print("before:", uptime(), f"· threads {args.threads}")
    names = spec.query_fields
    t0 = time.perf_counter()
    ranker = DemoRanker([example_text(e.fields, names) for e in pool])
    chosen = ranker.nearest_all([example_text(e.fields, names) for e in test], args.shots)
    index_s = time.perf_counter() - t0

    def chooser(i, ex, k):
        return [pool[j] for j in chosen[i][-k:]]

    scorer = LabelScorer(engine, spec)
    LabelScorer(engine, spec).score(pool[:1], test[0].fields)  # warm-up, not measured
    figures = {}
    for name, pick in (("random", None), ("similar", chooser)):
        engine.reset()
        before = engine._cache.decoded
        t0 = time.perf_counter()
        runs = evaluate(scorer, test, pool, config, [], chooser=pick)
        elapsed = time.perf_counter() - t0
        tokens = (engine._cache.decoded - before) / len(test)
        acc = sum(p.predicted == p.gold for p in runs[0].predictions) / len(test)
        figures[name] = len(test) / elapsed
        print(
            f"{name:8s} {len(test) / elapsed:6.2f} ex/s · {tokens:6.1f} tokens decoded per "
            f"example · accuracy {100 * acc:.1f}%"
        )
    print(
        f"{args.examples} examples, {args.shots} shots: similar/random "
        f"{figures['similar'] / figures['random']:.2f}x the speed; indexing the pool "
        f"({len(pool)}) and choosing took {index_s:.2f} s"
    )
    print("after:", uptime())


if __name__ == "__main__":
    main()
