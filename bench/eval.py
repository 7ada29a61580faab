"""Benchmark: `gptplay eval` against a naive loop and against llama.cpp's prompt processing.

A task from ../shared/datasets/ (--task sst2: sst2_dev with the `sst2` prompt; --task cb:
cb_val with the `entailment` prompt, whose labels are 1-2 tokens), 4 shots, 1 seed, N
examples, the embedded model, in one process:
  (a) naive: for every example and every label, forget the cache and evaluate the whole
      prompt, in the same batches as (b), so the numbers can be compared exactly;
  (b) gptplay: ``evaluate`` with a ``LabelScorer`` (demonstrations once, then each
      example's own tokens, then each label's);
  (pp) llama.cpp's prompt processing: 512 tokens in batches of 128, before (a), after it,
      and after every 10 examples of (b) (the demonstrations decoded again after it, not
      timed); the median is used.
Prints examples/s, the speedup b/a, the tokens (b) decoded per second against the pp rate
(target >= 0.8), how many predictions agree, and `uptime` before and after.

    python bench/eval.py [--task sst2|cb] [--examples 200] [--shots 4] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# ../shared/datasets beside the checkout; GPTPLAY_DATASETS names another folder (a worktree)
DATASETS = Path(
    os.environ.get("GPTPLAY_DATASETS")
    or Path(__file__).resolve().parents[2] / "shared" / "datasets"
)
CHUNK = 10  # examples between two prompt-processing measurements
TASKS = {"sst2": ("sst2", "sst2_dev", "sst2_train"), "cb": ("entailment", "cb_val", "cb_train")}


def uptime() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def pp_rate(engine, n: int = 512, batch: int = 128) -> float:
    """llama.cpp's prompt processing: n tokens of text in batches of ``batch``, tok/s, from
    an empty cache (which it leaves empty)."""
    text = "The quick brown fox jumps over the lazy dog. " * 60
    ids = engine.tokenize(text)[:n]
    cache = engine._cache
    cache.reset()
    t0 = time.perf_counter()
    for i in range(0, len(ids), batch):
        cache.batch.clear()
        cache.batch.add(ids[i : i + batch], i, (0,), False)
        cache.batch.logits[min(batch, len(ids) - i) - 1] = 1
        cache.run()
    rate = len(ids) / (time.perf_counter() - t0)
    cache.reset()
    return rate


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=sorted(TASKS), default="sst2")
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: engine's)")
    args = ap.parse_args()
    prompt, dev, train = TASKS[args.task]
    if not (DATASETS / f"{dev}.jsonl").is_file():
        print(f"skipped: {DATASETS} holds no {dev}.jsonl", file=sys.stderr)
        return 1

    from gptplay.engine.llama import LlamaEngine
    from gptplay.evaluate import EvalConfig, LabelScorer, evaluate, load_examples, subset
    from gptplay.evaluate.run import sample_demos
    from gptplay.evaluate.score import argmax
    from gptplay.library import load_prompt
    from gptplay.models import embedded_model_path

    print(f"before: {uptime()}")
    spec = load_prompt(prompt)
    test = subset(load_examples(DATASETS / f"{dev}.jsonl", spec), args.examples)
    pool = load_examples(DATASETS / f"{train}.jsonl", spec)
    engine = LlamaEngine(embedded_model_path(), n_ctx=2048, n_threads=args.threads)
    scorer = LabelScorer(engine, spec)
    demos = sample_demos(pool, args.shots, args.seed, spec.labels)
    lengths = [len(engine.tokenize(scorer.prompt(demos, e.fields))) for e in test]
    label_tokens = {lab: len(ids) for lab, ids in scorer.label_ids.items()}
    print(
        f"{args.task}: {len(test)} examples, {args.shots} shots, prompt "
        f"{min(lengths)}-{max(lengths)} tokens, label tokens {label_tokens}, "
        f"{engine.threads} threads"
    )
    pps = [pp_rate(engine)]

    # (a) naive: the whole prompt for every example and every label
    engine.reset()
    t0 = time.perf_counter()
    naive = []
    for example in test:
        context = engine.tokenize(scorer.prompt(demos, example.fields))
        scores = []
        for label in spec.labels:
            engine.reset()  # nothing cached: the whole prompt, in the same batches
            (scored,) = engine.score_choices(context, [scorer.label_ids[label]])
            scores.append(sum(t.logprob for t in scored))
        naive.append((spec.labels[argmax(scores)], scores))
    t_naive = time.perf_counter() - t0
    pps.append(pp_rate(engine))

    first = engine.tokenize(scorer.prompt(demos, test[0].fields))
    shared = first[: scorer.shared_prefix(demos)]

    def run_eval():
        """(b) in chunks of CHUNK examples, llama.cpp's prompt processing timed between them."""
        engine.reset()
        predictions: list = []
        elapsed, decoded = 0.0, 0
        for k in range(0, len(test), CHUNK):
            if k:  # the demonstrations again after pp emptied the cache: not timed
                engine._cache.extend(shared, pad=True)
            runs: list = []
            before = engine._cache.decoded
            t = time.perf_counter()
            evaluate(
                scorer, test[k : k + CHUNK], pool, EvalConfig(shots=(args.shots,), seeds=1), runs
            )
            elapsed += time.perf_counter() - t
            decoded += engine._cache.decoded - before
            predictions += runs[0].predictions
            pps.append(pp_rate(engine))
        runs[0].predictions = predictions
        return runs[0], elapsed, decoded

    fast, t_fast, decoded = run_eval()  # (b)
    assert fast.demos == demos
    n = len(test)
    preds = fast.predictions
    same = sum(a[0] == b.predicted for a, b in zip(naive, preds))
    diff = max(abs(x - s.logprob) for a, b in zip(naive, preds) for x, s in zip(a[1], b.scores))
    acc = sum(p.predicted == p.gold for p in preds) / n
    pp = statistics.median(pps)
    print(
        f"(pp) llama.cpp prompt processing, batch 128: {', '.join(f'{r:.0f}' for r in pps)} tok/s"
    )
    print(f"(a) naive whole-prompt loop: {t_naive:7.2f} s  {n / t_naive:6.2f} examples/s")
    print(f"(b) gptplay eval (cached):   {t_fast:7.2f} s  {n / t_fast:6.2f} examples/s")
    print(f"speedup b/a: {t_naive / t_fast:.2f}x")
    print(
        f"(b) decoded {decoded} tokens: {decoded / t_fast:.0f} tok/s = "
        f"{decoded / t_fast / pp:.2f}x prompt processing (target >= 0.8)"
    )
    print(f"same predictions (a)/(b): {same}/{n}; largest label-score difference {diff:.4f} nats")
    print(f"accuracy ({args.shots} shots, seed {args.seed}): {100 * acc:.1f}%")
    print(f"after: {uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
