"""Benchmark: per-token probabilities must cost almost nothing against llama.cpp's own loop.

Same prompt, seed and thread count, N tokens (default 256), on the embedded model, in one
process, alternating A B A B ... so load on the machine hits every variant alike:
  (a) llama.cpp's own C-API loop through the ctypes bindings: the sampler chain (top-k 40,
      top-p 0.95, min-p 0.05, temperature 0.8, dist) with llama_sampler_sample, then a
      one-token llama_decode; nothing else per token. The baseline.
  (b) gptplay's engine with probabilities and the top-5, each event written as the JSON
      record `gptplay complete --json` prints.
  (r) llama-cpp-python's Llama.generate (reference), and with --logprobs its
      create_completion(logprobs=5) path with logits_all=True (reference, slow).
Tokens/s is timed between the first and the last token; medians are compared. With
--alternatives it also times the per-token pieces on real logits (top-5 methods, the
candidate fill against Candidates.fill_top, the log-sum-exp). Peak memory
(max RSS) of (a) and (b) is measured in fresh subprocesses. Targets: b/a >= 0.98 in
tokens/s (the ratio of medians; the median of each round's own b/a is printed too), <= 1.05
in peak memory. Prints `uptime` before and after.

    python bench/stream.py [--tokens 256] [--reps 5] [--threads N] [--logprobs] [--alternatives]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time

PROMPT = "Once upon a time, in a small village at the edge of a great forest,"
SEED = 42
N_CTX = 2048


def model_path() -> str:
    from gptplay.models import embedded_model_path

    return str(embedded_model_path())


def load_raw(threads: int):
    """A model and context with the engine's own parameters (gptplay.engine.loader)."""
    from pathlib import Path

    import llama_cpp

    from gptplay.engine.loader import load

    return load(
        llama_cpp, Path(model_path()), n_ctx=N_CTX, threads=threads, n_gpu_layers=0, verbose=False
    )


def c_loop(loaded, n: int) -> tuple[list[int], float]:
    """(a): llama.cpp's loop: sample with the chain, decode the token, nothing else."""
    import llama_cpp as lc

    from gptplay.engine.kvcache import KVCache

    ctx, vocab = loaded.ctx, loaded.vocab
    lc.llama_memory_clear(lc.llama_get_memory(ctx), True)
    data = PROMPT.encode()
    toks = (lc.llama_token * 256)()
    n_prompt = lc.llama_tokenize(vocab, data, len(data), toks, 256, True, True)
    chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
    for s in (
        lc.llama_sampler_init_top_k(40),
        lc.llama_sampler_init_top_p(0.95, 1),
        lc.llama_sampler_init_min_p(0.05, 1),
        lc.llama_sampler_init_temp(0.8),
        lc.llama_sampler_init_dist(SEED),
    ):
        lc.llama_sampler_chain_add(chain, s)
    # the prompt (not timed) in gptplay's canonical layout, so (a) draws what (b) draws
    KVCache(lc, loaded).fill(list(toks[:n_prompt]))
    out: list[int] = []
    one = (lc.llama_token * 1)()
    first = 0.0
    while len(out) < n:
        tok = lc.llama_sampler_sample(chain, ctx, -1)
        if not out:
            first = time.perf_counter()
        if lc.llama_vocab_is_eog(vocab, tok):
            break
        out.append(tok)
        one[0] = tok
        assert lc.llama_decode(ctx, lc.llama_batch_get_one(one, 1)) == 0
    rate = (len(out) - 1) / (time.perf_counter() - first)
    lc.llama_sampler_free(chain)
    return out, rate


def engine_loop(engine, n: int) -> tuple[list[int], float]:
    """(b): gptplay's engine, probabilities + top-5, each event as `complete --json` writes it."""
    from gptplay.cli.output import event_json
    from gptplay.engine.types import SamplingParams

    engine.reset()
    params = SamplingParams(temperature=0.8, max_tokens=n, seed=SEED)
    sink = io.StringIO()
    ids, first = [], 0.0
    for event in engine.stream(PROMPT, params, top=5, probs=True):
        if not ids:
            first = time.perf_counter()
        ids.append(event.id)
        sink.write(json.dumps(event_json(event), ensure_ascii=False) + "\n")
    return ids, (len(ids) - 1) / (time.perf_counter() - first) if len(ids) > 1 else 0.0


def generate_loop(llm, n: int) -> tuple[list[int], float]:
    """(r): llama-cpp-python's Llama.generate, no probabilities."""
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=True)
    llm.reset()
    llm.set_seed(SEED)
    out, first = [], 0.0
    for tok in llm.generate(tokens, temp=0.8, top_k=40, top_p=0.95, min_p=0.05):
        if not out:
            first = time.perf_counter()
        if tok == llm.token_eos():
            break
        out.append(tok)
        if len(out) >= n:
            break
    return out, (len(out) - 1) / (time.perf_counter() - first)


def logprobs_loop(llm, n: int) -> tuple[list[int], float]:
    """(r): llama-cpp-python's logprobs=5 path (needs logits_all=True)."""
    count, first = 0, 0.0
    for _ in llm.create_completion(
        PROMPT, max_tokens=n, temperature=0.8, seed=SEED, logprobs=5, stream=True
    ):
        count += 1
        if count == 1:
            first = time.perf_counter()
    return [0] * count, (count - 1) / (time.perf_counter() - first) if count > 1 else 0.0


def make_llama(threads: int, logits_all: bool = False):
    import llama_cpp

    return llama_cpp.Llama(
        model_path=model_path(),
        n_ctx=N_CTX,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=logits_all,
        swa_full=True,
        verbose=False,
    )


def child(which: str, n: int, threads: int) -> None:
    """Run one variant once in a fresh process; print its figures as JSON."""
    if which == "b":
        from gptplay.engine.llama import LlamaEngine

        ids, rate = engine_loop(LlamaEngine(model_path(), n_ctx=N_CTX, n_threads=threads), n)
    else:
        ids, rate = c_loop(load_raw(threads), n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens": len(ids), "tok_s": rate, "peak_mb": peak_mb}))


def run_child(which: str, n: int, threads: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        which,
        "--tokens",
        str(n),
        "--threads",
        str(threads),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def uptime() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def alternatives(engine, reps: int = 200) -> None:
    """Per-token cost of the top-5 on real logits: each exact method, timed."""
    import llama_cpp as lc
    import numpy as np

    from gptplay.engine.probs import LogitReader
    from gptplay.engine.sampler import Candidates
    from gptplay.engine.types import SamplingParams

    engine.reset()
    engine.stream(PROMPT, SamplingParams(temperature=0, max_tokens=2)).run()
    logits = engine._cache.logits(-1)
    want = list(np.argsort(-logits, kind="stable")[:5])
    cand = Candidates(lc, engine.n_vocab)
    topk = lc.llama_sampler_init_top_k(5)

    def llama_top_k():
        cand.fill(logits)
        lc.llama_sampler_apply(topk, cand.ref)
        return list(cand.ids[:5])

    methods = {
        "argpartition + argsort": lambda: list(
            (lambda i: i[np.argsort(-logits[i], kind="stable")])(np.argpartition(logits, -5)[-5:])
        ),
        "threshold below the max (kept)": lambda: list(LogitReader.top_ids(logits, 5)),
        "llama.cpp top-k(5) on candidates": llama_top_k,
        "fill only (the chain's sorted top-k is free)": lambda: cand.fill(logits) or want,
    }
    print(f"top-5 over {engine.n_vocab} logits, {reps} reps each ({uptime()}):")
    for name, fn in methods.items():
        assert [int(x) for x in fn()] == [int(x) for x in want], name
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        print(f"  {name:<46}{(time.perf_counter() - t) / reps * 1e6:8.1f} us/token")
    top40 = lc.llama_sampler_init_top_k(40)
    reader = LogitReader(engine.n_vocab)
    pieces = {
        "candidate fill + llama.cpp top-k(40)": lambda: (
            cand.fill(logits),
            lc.llama_sampler_apply(top40, cand.ref),
        ),
        "Candidates.fill_top(40) (used when no ties)": lambda: cand.fill_top(logits, 40),
        "log-sum-exp over all logits": lambda: reader.logsumexp(logits),
    }
    print(f"per-token pieces, {reps} reps each:")
    for name, fn in pieces.items():
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        print(f"  {name:<46}{(time.perf_counter() - t) / reps * 1e6:8.1f} us/token")
    lc.llama_sampler_free(top40)
    lc.llama_sampler_free(topk)


def main() -> None:
    from gptplay.engine.llama import default_threads

    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="default: the engine's default")
    ap.add_argument("--logprobs", action="store_true", help="add the slow logits_all reference")
    ap.add_argument("--alternatives", action="store_true", help="time the top-K methods")
    ap.add_argument("--child")
    args = ap.parse_args()
    threads = args.threads or default_threads()
    if args.child:
        child(args.child, args.tokens, threads)
        return

    from gptplay.engine.llama import LlamaEngine

    print(f"before: {uptime()}; {threads} threads, {args.tokens} tokens, {args.reps} reps")
    engine = LlamaEngine(model_path(), n_ctx=N_CTX, n_threads=threads)
    if args.alternatives:
        alternatives(engine)
    raw = load_raw(threads)
    llm = make_llama(threads)
    loops = {"a": (c_loop, raw), "b": (engine_loop, engine), "g": (generate_loop, llm)}
    for fn, obj in loops.values():
        fn(obj, 16)  # warm up
    rates: dict[str, list[float]] = {k: [] for k in loops}
    ids: dict[str, list[int]] = {}
    for _ in range(args.reps):
        for key, (fn, obj) in loops.items():
            ids[key], r = fn(obj, args.tokens)
            rates[key].append(r)
    if args.logprobs:
        ids["c"], r = logprobs_loop(make_llama(threads, logits_all=True), args.tokens)
        rates["c"] = [r]
    raw.close(__import__("llama_cpp"))
    del engine, llm

    mem = {w: run_child(w, args.tokens, threads) for w in ("a", "b")}
    med = {k: statistics.median(v) for k, v in rates.items()}
    labels = {
        "a": "(a) llama.cpp C-API loop (chain + llama_decode)",
        "b": "(b) gptplay engine, probs + top-5, JSON records",
        "g": "(r) llama-cpp-python Llama.generate",
        "c": "(r) create_completion(logprobs=5), logits_all",
    }
    print(f"{'variant':<52}{'tokens':>7}{'tok/s':>9}{'peak MB':>9}")
    for key in med:
        peak = f"{mem[key]['peak_mb']:>9.0f}" if key in mem else f"{'':>9}"
        print(f"{labels[key]:<52}{len(ids[key]):>7}{med[key]:>9.1f}{peak}")
    for key in rates:
        print(f"{key} runs tok/s: {', '.join(f'{r:.1f}' for r in rates[key])}")
    print(f"same tokens (a) and (b): {ids['a'] == ids['b']}")
    print(f"b/a tokens/s: {med['b'] / med['a']:.3f}   (target >= 0.98)")
    paired = statistics.median(b / a for a, b in zip(rates["a"], rates["b"]))
    print(f"b/a tokens/s, median of each round's ratio: {paired:.3f}")
    print(f"b/a peak memory: {mem['b']['peak_mb'] / mem['a']['peak_mb']:.3f}   (target <= 1.05)")
    print(f"g/a tokens/s: {med['g'] / med['a']:.3f}")
    print(f"after: {uptime()}")


if __name__ == "__main__":
    main()
