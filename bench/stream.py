"""Benchmark: per-token probabilities must cost almost nothing.

Same prompt and seed, N tokens (default 256), on the embedded model, in one run:
  (a) a raw llama-cpp-python ``Llama.generate`` loop without probabilities,
  (b) gptplay's engine with probabilities and the top-5 alternatives,
  (c) llama-cpp-python ``create_completion(logprobs=5)`` with ``logits_all=True`` (reference).
Tokens/s is timed between the first and the last token; (a) and (b) alternate over several
repetitions in one process and the medians are compared. Peak memory (max RSS) of each is
measured in a fresh subprocess. Prints the ratios b/a. Targets: >= 0.95 in tokens/s, <= 1.10
in peak memory.

    python bench/stream.py [--tokens 256] [--reps 5] [--skip-c]
"""

from __future__ import annotations

import argparse
import json
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


def raw_loop(llm, n: int) -> tuple[int, float]:
    """(a): llama-cpp-python's own generate loop; EOS ignored so every run is n tokens."""
    tokens = llm.tokenize(PROMPT.encode(), add_bos=True, special=True)
    llm.reset()
    llm.set_seed(SEED)
    count, first = 0, 0.0
    for _ in llm.generate(tokens, temp=0.8, top_k=40, top_p=0.95, min_p=0.05):
        count += 1
        if count == 1:
            first = time.perf_counter()
        if count >= n:
            break
    return count, (count - 1) / (time.perf_counter() - first)


def engine_loop(engine, n: int) -> tuple[int, float]:
    """(b): gptplay's engine with probabilities and top-5 alternatives."""
    from gptplay.engine.types import SamplingParams

    engine.reset()
    params = SamplingParams(temperature=0.8, max_tokens=n, seed=SEED)
    count, first = 0, 0.0
    for _ in engine.stream(PROMPT, params, top=5, probs=True):
        count += 1
        if count == 1:
            first = time.perf_counter()
    return count, (count - 1) / (time.perf_counter() - first) if count > 1 else 0.0


def logprobs_loop(llm, n: int) -> tuple[int, float]:
    """(c): llama-cpp-python's logprobs=5 path (needs logits_all=True)."""
    count, first = 0, 0.0
    for _ in llm.create_completion(
        PROMPT, max_tokens=n, temperature=0.8, seed=SEED, logprobs=5, stream=True
    ):
        count += 1
        if count == 1:
            first = time.perf_counter()
    return count, (count - 1) / (time.perf_counter() - first) if count > 1 else 0.0


def child(which: str, n: int) -> None:
    """Run one variant once in this process; print its figures as JSON."""
    path = model_path()
    if which == "b":
        from gptplay.engine.llama import LlamaEngine

        count, rate = engine_loop(LlamaEngine(path, n_ctx=N_CTX), n)
    else:
        import llama_cpp

        from gptplay.engine.llama import _silence_llama_log

        _silence_llama_log(llama_cpp)
        llm = llama_cpp.Llama(
            model_path=path, n_ctx=N_CTX, logits_all=(which == "c"), swa_full=True, verbose=False
        )
        count, rate = (raw_loop if which == "a" else logprobs_loop)(llm, n)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"tokens": count, "tok_s": rate, "peak_mb": peak_mb}))


def run_child(which: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, "--tokens", str(n)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--skip-c", action="store_true", help="skip the slow logits_all reference")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.tokens)
        return

    import llama_cpp

    from gptplay.engine.llama import LlamaEngine, _silence_llama_log

    path = model_path()
    engine = LlamaEngine(path, n_ctx=N_CTX)
    _silence_llama_log(llama_cpp)
    llm = llama_cpp.Llama(model_path=path, n_ctx=N_CTX, swa_full=True, verbose=False)
    raw_loop(llm, 16), engine_loop(engine, 16)  # warm up
    rates: dict[str, list[float]] = {"a": [], "b": []}
    counts = {}
    for _ in range(args.reps):  # alternate, so load on the machine hits both alike
        counts["a"], r = raw_loop(llm, args.tokens)
        rates["a"].append(r)
        counts["b"], r = engine_loop(engine, args.tokens)
        rates["b"].append(r)
    del engine, llm

    mem = {w: run_child(w, args.tokens) for w in (["a", "b"] if args.skip_c else ["a", "b", "c"])}
    a, b = statistics.median(rates["a"]), statistics.median(rates["b"])
    print(f"{'variant':<52}{'tokens':>7}{'tok/s':>9}{'peak MB':>9}")
    rows = [
        ("a", "(a) raw Llama.generate, no probabilities", a),
        ("b", "(b) gptplay engine, probabilities + top-5", b),
    ]
    if "c" in mem:
        rows.append(("c", "(c) create_completion(logprobs=5), logits_all", mem["c"]["tok_s"]))
    for key, label, rate in rows:
        print(
            f"{label:<52}{counts.get(key, mem[key]['tokens']):>7}{rate:>9.1f}"
            f"{mem[key]['peak_mb']:>9.0f}"
        )
    print(f"(a) runs tok/s: {', '.join(f'{r:.1f}' for r in rates['a'])}")
    print(f"(b) runs tok/s: {', '.join(f'{r:.1f}' for r in rates['b'])}")
    print(f"b/a tokens/s: {b / a:.3f}   (target >= 0.95)")
    print(f"b/a peak memory: {mem['b']['peak_mb'] / mem['a']['peak_mb']:.3f}   (target <= 1.10)")
    if "c" in mem:
        print(
            f"c/a tokens/s: {mem['c']['tok_s'] / a:.3f}   "
            f"c/a peak memory: {mem['c']['peak_mb'] / mem['a']['peak_mb']:.3f}"
        )


if __name__ == "__main__":
    main()
