"""Benchmark: `gptplay eval` keeps the demonstrations in the KV cache.

SST-2 dev from ../shared/datasets/ (pool: sst2_train), 4 shots, 1 seed, N examples
(default 200), the built-in `sst2` prompt, on the embedded model, in one process:
  (a) naive: for every example and every label, forget the cache and evaluate the whole
      prompt (demonstrations + example + label) from the start, in the same two batches
      (demonstrations, then the rest) so that the numbers can be compared exactly;
  (b) gptplay: ``evaluate`` with a ``LabelScorer``: demonstrations once, then each example's
      own tokens, then each label's.
Both score the same prompts and labels. Prints examples/s of each, the speedup b/a and
how many predictions agree (target: all, and >= 4x).

    python bench/eval.py [--examples 200] [--shots 4] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: all)")
    args = ap.parse_args()
    if not (DATASETS / "sst2_dev.jsonl").is_file():
        print(f"skipped: {DATASETS} holds no sst2_dev.jsonl", file=sys.stderr)
        return 1

    from gptplay.engine.llama import LlamaEngine
    from gptplay.evaluate import EvalConfig, LabelScorer, evaluate, load_examples, subset
    from gptplay.evaluate.run import sample_demos
    from gptplay.evaluate.score import argmax
    from gptplay.library import load_prompt
    from gptplay.models import embedded_model_path

    spec = load_prompt("sst2")
    test = subset(load_examples(DATASETS / "sst2_dev.jsonl", spec), args.examples)
    pool = load_examples(DATASETS / "sst2_train.jsonl", spec)
    engine = LlamaEngine(embedded_model_path(), n_ctx=2048, n_threads=args.threads)
    scorer = LabelScorer(engine, spec)
    demos = sample_demos(pool, args.shots, args.seed, spec.labels)
    lengths = [len(engine.tokenize(scorer.prompt(demos, e.fields))) for e in test]
    print(f"{len(test)} examples, {args.shots} shots, prompt {min(lengths)}-{max(lengths)} tokens")

    # (a) naive: the whole prompt for every example and every label
    engine.reset()
    t0 = time.perf_counter()
    naive = []
    for example in test:
        context = engine.tokenize(scorer.prompt(demos, example.fields))
        prefix = scorer.shared_prefix(demos)
        scores = []
        for label in spec.labels:
            engine.reset()  # nothing cached: the whole prompt, in the same two batches
            (scored,) = engine.score_choices(context, [scorer.label_ids[label]], prefix=prefix)
            scores.append(sum(t.logprob for t in scored))
        naive.append((spec.labels[argmax(scores)], scores))
    t_naive = time.perf_counter() - t0

    # (b) gptplay: demonstrations cached, each example and label adds only its own tokens
    engine.reset()
    config = EvalConfig(shots=(args.shots,), seeds=1)
    runs: list = []
    t0 = time.perf_counter()
    evaluate(scorer, test, pool, config, runs)
    t_fast = time.perf_counter() - t0
    fast = runs[0].predictions
    assert runs[0].demos == demos

    same = sum(a[0] == b.predicted for a, b in zip(naive, fast))
    diff = max(abs(x - s.logprob) for a, b in zip(naive, fast) for x, s in zip(a[1], b.scores))
    acc = sum(p.predicted == p.gold for p in fast) / len(fast)
    n = len(test)
    print(f"(a) naive whole-prompt loop: {t_naive:7.2f} s  {n / t_naive:6.2f} examples/s")
    print(f"(b) gptplay eval (cached):   {t_fast:7.2f} s  {n / t_fast:6.2f} examples/s")
    print(f"speedup b/a: {t_naive / t_fast:.2f}x (target >= 4x)")
    print(f"same predictions: {same}/{n}; largest label-score difference {diff:.4f} nats")
    print(f"accuracy ({args.shots} shots, seed {args.seed}): {100 * acc:.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
