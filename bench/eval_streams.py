"""Experiment (issue 22 item 3): several examples per decode through one KV stream each.

A scoring context with ``kv_unified = false`` gives every sequence its own KV stream, so
an example's cells sit right after its own copy of the demonstrations, as in a decode of
that example alone, whatever shares the decode. Per pack of P examples:
  - stream s (sequence s) holds the demonstrations (decoded once, then copied to every
    stream with llama_memory_seq_cp);
  - one llama_decode holds, for each s, example s's own tokens and the first tokens of its
    multi-token label, then throwaway copies of its first token, all on sequence s, so
    every example spans the same L tokens (a multiple of 8): llama.cpp's split_equal puts
    P x L rows in one ubatch, all in the CPU kernels' 4-row groups (engine/kvcache.py);
  - its cells after the demonstrations are dropped again.
Packs are filled in order of length, so the throwaway rows stay few. Compared in the same
process, interleaved in chunks of 4 packs' worth of examples:
  (b) today's path, LabelScorer.score_continuations (one example per padded decode);
  (p) packed streams as above.
Reports examples/s of each, how far (p)'s scores are from (b)'s, and, for the first
--ref examples, from the single-example reference (each label: a fresh cache, one padded
decode of prompt + label, bench/eval.py's naive loop). Adoption needs every score within
1e-3 nats of the reference and (p) faster than (b).

    python bench/eval_streams.py [--task sst2|cb] [--examples 100] [--pack 8] [--ref 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval import DATASETS, TASKS, uptime  # noqa: E402

ROWS = 8  # rows per example in a decode: a multiple of this


class StreamScorer:
    """A second context on the model: P sequences, one KV stream each."""

    def __init__(self, lc, path: Path, pack: int, threads: int, demos: list[int]) -> None:
        from gptplay.engine.loader import amx_build, silence_llama_log

        silence_llama_log(lc)
        self.lc, self.pack = lc, pack
        mparams = lc.llama_model_default_params()
        mparams.n_gpu_layers = 0
        if amx_build(lc):
            mparams.use_extra_bufts = False
        self.model = lc.llama_model_load_from_file(str(path).encode(), mparams)
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = 1024 * pack
        cparams.n_batch = cparams.n_ubatch = 512
        cparams.n_seq_max = pack
        cparams.kv_unified = False
        cparams.swa_full = True
        cparams.no_perf = True
        cparams.flash_attn_type = lc.LLAMA_FLASH_ATTN_TYPE_DISABLED
        cparams.n_threads = cparams.n_threads_batch = threads
        self.ctx = lc.llama_init_from_model(self.model, cparams)
        assert self.ctx, "no context"
        self.n_vocab = lc.llama_vocab_n_tokens(lc.llama_model_get_vocab(self.model))
        self.mem = lc.llama_get_memory(self.ctx)
        self.batch = lc.llama_batch_init(512, 0, 1)
        self.d = len(demos)
        # the demonstrations once, on sequence 0, padded after them on the same sequence
        self._decode([(0, demos, 0, [])])
        lc.llama_memory_seq_rm(self.mem, 0, self.d, -1)
        for s in range(1, pack):
            lc.llama_memory_seq_cp(self.mem, 0, s, -1, -1)

    def _decode(self, items) -> dict[tuple[int, int], int]:
        """items: (seq, tokens, first position, indices wanting logits); every item padded
        to the same length, a multiple of ROWS. Returns (item, index) -> batch row."""
        lc, b = self.lc, self.batch
        length = max(len(t) for _, t, _, _ in items)
        length += -length % ROWS
        rows, n = {}, 0
        for k, (seq, toks, pos0, want) in enumerate(items):
            for i in range(length):
                b.token[n] = toks[i] if i < len(toks) else toks[0]
                b.pos[n] = pos0 + i
                b.n_seq_id[n] = 1
                b.seq_id[n][0] = seq
                b.logits[n] = i in want
                if i in want:
                    rows[(k, i)] = n
                n += 1
        assert n <= 512
        b.n_tokens = n
        rc = lc.llama_decode(self.ctx, b)
        assert rc == 0, rc
        return rows

    def score(self, rests: list[list[int]], choices: list[list[int]]) -> list[list[float]]:
        """Each example's summed log-probability of every choice (one decode per pack)."""
        from gptplay.engine.probs import log_softmax

        longer = [c for c in choices if len(c) > 1]
        assert len(longer) <= 1, "the experiment packs one multi-token label per example"
        extra = longer[0][:-1] if longer else []
        out: list = [None] * len(rests)
        for pack in self.packs([len(r) + len(extra) for r in rests]):
            part = [rests[i] for i in pack]
            items = []
            for s, rest in enumerate(part):
                toks = rest + extra
                want = [len(rest) - 1] + [len(rest) + j for j in range(len(extra))]
                items.append((s, toks, self.d, want))
            rows = self._decode(items)
            for s in range(len(part)):
                idx = [rows[(s, i)] for i in items[s][3]]
                lsm = log_softmax(
                    np.stack(
                        [
                            np.ctypeslib.as_array(
                                self.lc.llama_get_logits_ith(self.ctx, r), shape=(self.n_vocab,)
                            )
                            for r in idx
                        ]
                    )
                )
                scores = []
                for c in choices:
                    total = float(lsm[0, c[0]])
                    if len(c) > 1:
                        total += sum(float(lsm[1 + j, t]) for j, t in enumerate(c[1:]))
                    scores.append(total)
                out[pack[s]] = scores
            for s in range(len(part)):
                self.lc.llama_memory_seq_rm(self.mem, s, self.d, -1)
        return out

    def packs(self, lengths: list[int]) -> list[list[int]]:
        """Example indices in packs: by length, at most ``pack`` and 512 rows a decode (the
        order changes no score: each example's cells and rows are its own)."""
        out: list[list[int]] = []
        cur: list[int] = []
        for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
            rows = lengths[i] + -lengths[i] % ROWS
            if cur and (len(cur) == self.pack or (len(cur) + 1) * rows > 512):
                out.append(cur)
                cur = []
            cur.append(i)
        return out + ([cur] if cur else [])

    def close(self) -> None:
        self.lc.llama_batch_free(self.batch)
        self.lc.llama_free(self.ctx)
        self.lc.llama_model_free(self.model)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=sorted(TASKS), default="sst2")
    ap.add_argument("--examples", type=int, default=100)
    ap.add_argument("--shots", type=int, default=4)
    ap.add_argument("--pack", type=int, default=8)
    ap.add_argument("--ref", type=int, default=10, help="examples checked against the reference")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    prompt, dev, train = TASKS[args.task]
    if not (DATASETS / f"{dev}.jsonl").is_file():
        print(f"skipped: {DATASETS} holds no {dev}.jsonl", file=sys.stderr)
        return 1

    import llama_cpp as lc

    from gptplay.engine.llama import LlamaEngine
    from gptplay.evaluate import LabelScorer, load_examples, subset
    from gptplay.evaluate.run import sample_demos
    from gptplay.library import load_prompt
    from gptplay.models import embedded_model_path

    print(f"before: {uptime()}")
    spec = load_prompt(prompt)
    test = subset(load_examples(DATASETS / f"{dev}.jsonl", spec), args.examples)
    pool = load_examples(DATASETS / f"{train}.jsonl", spec)
    engine = LlamaEngine(embedded_model_path(), n_ctx=2048, n_threads=args.threads)
    scorer = LabelScorer(engine, spec)
    demos = sample_demos(pool, args.shots, 0, spec.labels)
    flat = [ids for label in spec.labels for ids in scorer.word_ids[label]]
    contexts = [engine.tokenize(scorer.prompt(demos, e.fields)) for e in test]
    d = scorer.shared_prefix(demos)
    assert all(c[:d] == contexts[0][:d] for c in contexts)
    rests = [c[d:] for c in contexts]
    streams = StreamScorer(lc, embedded_model_path(), args.pack, engine.threads, contexts[0][:d])
    print(
        f"{args.task}: {len(test)} examples, {args.shots} shots, demonstrations {d} tokens, "
        f"own tokens {min(map(len, rests))}-{max(map(len, rests))}, choices "
        f"{[len(c) for c in flat]} tokens, pack {args.pack}, {engine.threads} threads"
    )

    today, packed = [], []
    t_today = t_packed = 0.0
    engine.reset()
    chunk = 4 * args.pack
    for k in range(0, len(test), chunk):
        t = time.perf_counter()
        for e in test[k : k + chunk]:
            today.append(scorer.score_continuations(demos, e.fields, flat))
        t_today += time.perf_counter() - t
        t = time.perf_counter()
        packed += streams.score(rests[k : k + chunk], flat)
        t_packed += time.perf_counter() - t
    diff = np.abs(np.array(today) - np.array(packed))
    ref = []
    for ctx in contexts[: args.ref]:
        row = []
        for c in flat:
            engine.reset()
            (scored,) = engine.score_choices(ctx, [c])
            row.append(sum(t.logprob for t in scored))
        ref.append(row)
    ref = np.array(ref)
    n_ref = len(ref)
    same = sum(int(np.argmax(a) == np.argmax(b)) for a, b in zip(today, packed))
    n = len(test)
    print(f"(b) today, one example per decode: {t_today:7.2f} s  {n / t_today:6.2f} examples/s")
    print(f"(p) packed, {args.pack} streams:  {t_packed:14.2f} s  {n / t_packed:6.2f} examples/s")
    print(f"p/b examples/s: {t_today / t_packed:.2f}x")
    print(f"|p - b| over {diff.size} scores: max {diff.max():.2e}, median {np.median(diff):.2e}")
    print(
        f"vs the single-example reference ({n_ref} examples): |b - ref| max "
        f"{np.abs(np.array(today[:n_ref]) - ref).max():.2e}, |p - ref| max "
        f"{np.abs(np.array(packed[:n_ref]) - ref).max():.2e} (rule: <= 1e-3)"
    )
    print(f"same predictions (b)/(p): {same}/{n}")
    print(f"after: {uptime()}")
    streams.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
