"""The KV cache and its bookkeeping: which tokens it holds, what a prompt can reuse, decoding.

Sequence 0 holds the conversation or prompt the engine last worked on (``tokens``, at
positions 0..n-1). Scoring lends another sequence id to a continuation for one decode and
drops it again, so between calls only sequence 0 is in the cache.

Padded decodes. llama.cpp's repacked CPU matrix kernels take a batch's rows in groups of
four and the rows left over one by one, and the two round differently (up to 0.6 nats on
one row of this model's logits), so a token's logits would depend on where it falls in its
batch. Scoring therefore pads every decode to a multiple of ``ROW_GROUP`` rows with tokens
on a sequence of their own (``PAD_SEQ``, dropped after the decode): every row then takes
the grouped path, and a token's logits are the same whatever batch layout computed them
(measured on CB prompts: the old split path, every label in one decode and the whole
prompt as one batch agree to 0.0006 nats padded, against 0.24 unpadded). Padding to 4
was not enough: a decode of only four rows still rounded differently (0.10 nats), one of
eight did not, on 1 and 2 threads. ``exact`` counts the leading cached positions decoded
so; generation's one-token steps are not (padding them would cost every token).

Attention sums over the cache's cells in SIMD lanes, masked cells included as zeros, so
where a sequence's cells sit matters too: scoring keeps each sequence's cells contiguous
after the prefix it shares (engine/scoring.py).

The canonical prompt layout. Padding makes a token's logits nearly independent of its
batch, not bit-for-bit (about 0.0006 nats), and a sampled token can flip on less. So
every prompt that generation starts from is decoded the same way whatever the cache held:
in chunks of ``CHUNK`` tokens whose boundaries sit at the absolute positions 0, CHUNK,
2*CHUNK, ..., each one padded decode, the last chunk partial. ``canon`` counts the leading
positions decoded so as *full* chunks; a prompt reuses the cache only up to the last
boundary that both it and ``canon`` cover, and decodes the rest in the same chunks. The
KV cache after a prompt, and so every generated token, is then a function of the prompt's
tokens alone: a compare sibling, a chat history, a branch or a replay before it change
nothing (tests/test_one_run.py).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable

import numpy as np

from gptplay.engine.loader import N_BATCH, N_SEQ_MAX, Loaded
from gptplay.errors import ContextOverflowError, ModelError

ROW_CHUNK = 32  # tokens per decode when every row of logits is kept (1 MiB each for Gemma)
ROW_GROUP = 8  # padded decodes hold a multiple of this many rows (see above)
PAD_SEQ = N_SEQ_MAX - 1  # the padding rows' own sequence; never lent to scoring
CHUNK = 64  # the canonical prompt layout's chunk (see above; bench/prompt_chunk.py)


class Batch:
    """A ``llama_batch`` whose arrays are numpy buffers this engine owns (never freed by C)."""

    def __init__(self, lc, size: int = N_BATCH, n_seq: int = N_SEQ_MAX) -> None:
        self.size = size
        self.token = np.zeros(size, np.int32)
        self.pos = np.zeros(size, np.int32)
        self.n_seq_id = np.ones(size, np.int32)
        self.seq_id = np.zeros((size, n_seq), np.int32)
        self.logits = np.zeros(size, np.int8)
        row = self.seq_id.strides[0]
        base = self.seq_id.ctypes.data
        p_seq = ctypes.POINTER(lc.llama_seq_id)
        self._rows = (p_seq * size)(*[ctypes.cast(base + i * row, p_seq) for i in range(size)])
        self.c = lc.llama_batch(
            n_tokens=0,
            token=self.token.ctypes.data_as(ctypes.POINTER(lc.llama_token)),
            embd=None,
            pos=self.pos.ctypes.data_as(ctypes.POINTER(lc.llama_pos)),
            n_seq_id=self.n_seq_id.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            seq_id=self._rows,
            logits=self.logits.ctypes.data_as(ctypes.POINTER(ctypes.c_int8)),
        )
        self.n = self.n_pad = 0

    def clear(self) -> None:
        self.n = self.n_pad = 0

    def pad(self, k: int) -> None:
        """Append k throwaway rows on PAD_SEQ (dropped after the decode), no logits."""
        if k:
            self.add([int(self.token[0])] * k, self.n_pad, (PAD_SEQ,), False)
            self.n_pad += k

    def add(self, tokens: list[int], pos0: int, seqs: tuple[int, ...], want: bool) -> int:
        """Append tokens at positions pos0.. in the given sequences; return the first index."""
        i, n = self.n, len(tokens)
        self.token[i : i + n] = tokens
        self.pos[i : i + n] = np.arange(pos0, pos0 + n, dtype=np.int32)
        self.n_seq_id[i : i + n] = len(seqs)
        self.seq_id[i : i + n, : len(seqs)] = seqs
        self.logits[i : i + n] = want
        self.n = i + n
        return i


class KVCache:
    """Sequence 0's tokens in llama.cpp's cache, and decoding into it."""

    def __init__(self, lc, loaded: Loaded) -> None:
        self._lc = lc
        self.ctx = loaded.ctx
        self.n_ctx = loaded.n_ctx
        self.n_vocab = loaded.n_vocab
        self.mem = lc.llama_get_memory(loaded.ctx)
        self.batch = Batch(lc)
        self.tokens: list[int] = []  # sequence 0, positions 0..len-1
        self.exact = 0  # cached positions [0, n) that were decoded in padded batches
        self.canon = 0  # cached positions [0, n) decoded as full canonical chunks
        self.last_prefix_reused = 0
        self.decoded = 0  # tokens decoded since load (benchmarks read it)

    # ---- bookkeeping ----------------------------------------------------------------

    def shared_prefix(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` the cache already holds."""
        n = 0
        for a, b in zip(self.tokens, ids):
            if a != b:
                break
            n += 1
        return n

    def keep(self, n: int) -> int:
        """Keep positions [0, n) of sequence 0 and drop the rest; return what was kept."""
        lc = self._lc
        if n < len(self.tokens):
            if not lc.llama_memory_seq_rm(self.mem, 0, n, -1):
                lc.llama_memory_clear(self.mem, True)
                n = 0
            self.tokens = self.tokens[:n]
        self.exact = min(self.exact, n)
        self.canon = min(self.canon, n - n % CHUNK)
        return n

    def reuse(self, ids: list[int], limit: int) -> int:
        """Keep the cached positions shared with ``ids`` (at most ``limit``); return the count."""
        n = self.keep(min(self.shared_prefix(ids), limit))
        self.last_prefix_reused = n
        return n

    def reset(self) -> None:
        self._lc.llama_memory_clear(self.mem, True)
        self.tokens = []
        self.exact = 0
        self.canon = 0

    def drop_seqs(self, seqs: Iterable[int]) -> None:
        """Forget borrowed sequences (their cells shared with sequence 0 stay)."""
        for s in seqs:
            self._lc.llama_memory_seq_rm(self.mem, s, -1, -1)

    def share_prefix(self, n: int, seqs: Iterable[int]) -> None:
        """Let sequences ``seqs`` see sequence 0's positions [0, n) (no copy: shared cells)."""
        if n:
            for s in seqs:
                self._lc.llama_memory_seq_cp(self.mem, 0, s, 0, n)

    def adopt_decoded(self, tokens: list[int]) -> None:
        """Record ``tokens``, just decoded on sequence 0 in a padded batch, as cached."""
        if self.exact == len(self.tokens):
            self.exact += len(tokens)
        self.tokens += tokens

    def canonical_reuse(self, ids: list[int]) -> int:
        """How many leading tokens of ``ids`` a canonical fill takes from the cache."""
        n = min(self.shared_prefix(ids), self.canon, len(ids) - 1)
        return max(n - n % CHUNK, 0)

    def fill(self, ids: list[int]) -> int:
        """Bring the cache to ``ids`` in the canonical layout, the last logits ready.

        Returns how many leading tokens came from the cache. The last position is always
        decoded again, so its logits are those of this layout whatever ran before.
        """
        n = self.keep(self.canonical_reuse(ids))
        for start in range(n, len(ids), CHUNK):
            part = ids[start : start + CHUNK]
            self.batch.clear()
            self.batch.add(part, start, (0,), False)
            self.batch.logits[len(part) - 1] = 1
            self.run(pad=True)
            self.adopt_decoded(part)
            if len(part) == CHUNK and self.canon == start:
                self.canon += CHUNK
        self.last_prefix_reused = n
        return n

    # ---- decoding -------------------------------------------------------------------

    def run(self, pad: bool = False) -> None:
        """Decode the batch as it stands; with ``pad``, padded to a multiple of ROW_GROUP."""
        b = self.batch
        self.decoded += b.n - b.n_pad
        short = -b.n % ROW_GROUP if pad else 0
        b.pad(short)
        b.c.n_tokens = b.n
        rc = self._lc.llama_decode(self.ctx, b.c)
        b.n = 0
        if b.n_pad:
            self._lc.llama_memory_seq_rm(self.mem, PAD_SEQ, -1, -1)
        b.n_pad = 0
        if rc != 0:
            if rc == 1:
                raise ContextOverflowError(len(self.tokens) + self.batch.size, self.n_ctx)
            if rc == 2:
                raise KeyboardInterrupt  # aborted
            raise ModelError(f"llama.cpp could not decode a batch (llama_decode returned {rc}).")

    def extend(
        self, tokens: list[int], want_rows: bool = False, pad: bool = False
    ) -> np.ndarray | None:
        """Decode ``tokens`` after sequence 0's cache; return their logits rows if asked.

        Without ``want_rows`` only the last token of each batch of N_BATCH gets logits
        (llama.cpp always computes those), so the last position's logits are ready; with
        it, batches are ROW_CHUNK tokens, each row being n_vocab floats. ``pad`` pads each
        decode (scoring's layout-independent logits, see above).
        """
        rows = []
        step = ROW_CHUNK if want_rows else N_BATCH
        for i in range(0, len(tokens), step):
            part = tokens[i : i + step]
            self.batch.clear()
            self.batch.add(part, len(self.tokens), (0,), want_rows)
            self.batch.logits[len(part) - 1] = 1
            self.run(pad)
            if pad:
                self.adopt_decoded(part)
            else:
                self.tokens += part
            if want_rows:
                rows.append(self.rows(0, len(part)))
        if not want_rows:
            return None
        return np.concatenate(rows) if rows else np.empty((0, self.n_vocab), np.float32)

    def step(self, token: int) -> None:
        """Decode one generated token after the cache (the generation loop's hot path)."""
        b = self.batch
        pos = len(self.tokens)
        b.token[0] = token
        b.pos[0] = pos
        b.n_seq_id[0] = 1
        b.seq_id[0, 0] = 0
        b.logits[0] = 1
        b.n = 1
        self.run()
        self.tokens.append(token)

    def logits(self, i: int = -1) -> np.ndarray:
        """A numpy view (no copy) of the logits of batch index ``i`` of the last decode."""
        ptr = self._lc.llama_get_logits_ith(self.ctx, i)
        return np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))

    def rows(self, first: int, n: int) -> np.ndarray:
        """A copy of the logits of batch indices first..first+n-1 (each had logits asked)."""
        return np.stack([self.logits(first + j) for j in range(n)])
