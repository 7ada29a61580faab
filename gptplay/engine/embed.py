"""Text embeddings from the loaded model: its last hidden states, mean-pooled per text.

A second llama.cpp context on the same model weights (no second copy of the model) with
``embeddings`` on and mean pooling, made on the first call. Generation's own context is
left as it is: embeddings on there would make llama.cpp extract and pool hidden states on
every decode, and would disturb its KV cache. Texts are packed several to a decode, each
on its own sequence; a text longer than ``MAX_TOKENS`` is cut to its first tokens.
"""

from __future__ import annotations

import numpy as np

from gptplay.errors import ModelError

N_CTX = 2048  # the embedding context: this many tokens per decode
N_SEQ = 16  # texts per decode
MAX_TOKENS = 256  # a longer text is embedded by its first MAX_TOKENS tokens


class Embedder:
    """The embedding context of one loaded model, and decoding texts into vectors."""

    def __init__(self, lc, model, threads: int) -> None:
        self._lc = lc
        cparams = lc.llama_context_default_params()
        cparams.n_ctx = N_CTX
        cparams.n_batch = cparams.n_ubatch = N_CTX  # a pooled sequence must fit one ubatch
        cparams.n_seq_max = N_SEQ
        cparams.n_threads = cparams.n_threads_batch = threads
        cparams.embeddings = True
        cparams.pooling_type = lc.LLAMA_POOLING_TYPE_MEAN
        cparams.kv_unified = True
        cparams.no_perf = True
        self.ctx = lc.llama_init_from_model(model, cparams)
        if self.ctx is None:
            raise ModelError("llama.cpp could not make an embedding context for this model.")
        self.n_embd = int(lc.llama_model_n_embd(model))
        self.mem = lc.llama_get_memory(self.ctx)
        self.batch = lc.llama_batch_init(N_CTX, 0, 1)

    def close(self) -> None:
        if self.ctx is not None:
            self._lc.llama_batch_free(self.batch)
            self._lc.llama_free(self.ctx)
            self.ctx = None

    def embed(self, token_lists: list[list[int]]) -> np.ndarray:
        """One mean-pooled vector per token list (rows in the same order)."""
        out = np.zeros((len(token_lists), self.n_embd), np.float32)
        group: list[tuple[int, list[int]]] = []
        used = 0
        for i, ids in enumerate(token_lists):
            ids = ids[:MAX_TOKENS] or [0]
            if group and (len(group) == N_SEQ or used + len(ids) > N_CTX):
                self._decode(group, out)
                group, used = [], 0
            group.append((i, ids))
            used += len(ids)
        if group:
            self._decode(group, out)
        return out

    def _decode(self, group: list[tuple[int, list[int]]], out: np.ndarray) -> None:
        lc, b = self._lc, self.batch
        lc.llama_memory_clear(self.mem, True)
        n = 0
        for seq, (_, ids) in enumerate(group):
            for pos, tok in enumerate(ids):
                b.token[n] = tok
                b.pos[n] = pos
                b.n_seq_id[n] = 1
                b.seq_id[n][0] = seq
                b.logits[n] = 1  # pooling reads every position's hidden state
                n += 1
        b.n_tokens = n
        rc = lc.llama_decode(self.ctx, b)
        if rc != 0:
            raise ModelError(f"llama.cpp could not embed a batch (llama_decode returned {rc}).")
        for seq, (row, _) in enumerate(group):
            ptr = lc.llama_get_embeddings_seq(self.ctx, seq)
            if not ptr:
                raise ModelError("llama.cpp gave no pooled embedding for this model.")
            out[row] = np.ctypeslib.as_array(ptr, shape=(self.n_embd,))
