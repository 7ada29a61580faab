"""Server dialects, part 2: llama.cpp's ``llama-server`` native API.

``/completion`` with ``n_probs`` gives ``completion_probabilities[]`` of ``{id, token, bytes,
logprob, top_logprobs[]}`` (``prob``/``top_probs`` with ``post_sampling_probs``), so tokens and
alternatives come with ids and exact bytes. It has no prompt log-probabilities (llama.cpp
#27174): scoring asks for the top ``n_probs`` at each position instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from gptplay.engine.remote_api import Capabilities, GenState, Key, RawToken, ServerApi
from gptplay.engine.remote_http import DONE, Http

# llama-server's stop_type -> our finish reason
_FINISH = {"eos": "stop", "word": "stop", "limit": "length"}


def _bytes(item: dict) -> bytes:
    raw = item.get("bytes")
    if isinstance(raw, list):
        return bytes(raw)
    return str(item.get("token", "")).encode("utf-8")


def _logprob(item: dict, post: bool) -> float:
    if post or "logprob" not in item:
        p = float(item.get("prob", 0.0))
        return math.log(p) if p > 0 else -math.inf
    return float(item["logprob"])


def _alts(item: dict) -> tuple[list[dict], bool]:
    """An item's alternatives and whether they are post-sampling probabilities."""
    if "top_probs" in item:
        return item["top_probs"] or [], True
    return item.get("top_logprobs") or [], False


class LlamaServerApi(ServerApi):
    """llama.cpp's server, recognised by ``GET /props``."""

    kind = "llama-server"

    def __init__(self, http: Http, props: dict) -> None:
        path = str(props.get("model_path") or props.get("model_alias") or "llama-server")
        super().__init__(http, path.rsplit("/", 1)[-1])
        self.caps = Capabilities(post_sampling=True)
        settings = props.get("default_generation_settings") or {}
        self.n_ctx = settings.get("n_ctx") or props.get("n_ctx")
        self.chat_template = props.get("chat_template") or None
        self.bos_text = str(props.get("bos_token") or "")
        self.eos_text = str(props.get("eos_token") or "")
        self.slots = int(props.get("total_slots") or 1)
        self.build = str(props.get("build_info") or "")

    # ---- tokenizer ----------------------------------------------------------------

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        return [p.id for p in self.pieces(text, add_bos)]

    def pieces(self, text: str, add_bos: bool = True):
        from gptplay.engine.types import TokenPiece

        body = {"content": text, "add_special": add_bos, "parse_special": True, "with_pieces": True}
        out = []
        for tok in self.http.json("POST", "/tokenize", body)["tokens"]:
            if isinstance(tok, int):  # an older server without pieces
                out.append(TokenPiece(tok, self.piece(tok)))
                continue
            piece = tok.get("piece", "")
            data = bytes(piece) if isinstance(piece, list) else str(piece).encode("utf-8")
            self._pieces.setdefault(int(tok["id"]), data)
            out.append(TokenPiece(int(tok["id"]), data))
        return out

    def _detokenize(self, ids: list[int]) -> bytes:
        out = self.http.json("POST", "/detokenize", {"tokens": ids})
        return str(out.get("content", "")).encode("utf-8")

    def apply_template(self, messages: list[dict]) -> str:
        """The server's own rendering of a conversation (``/apply-template``)."""
        return str(self.http.json("POST", "/apply-template", {"messages": messages})["prompt"])

    # ---- generation ---------------------------------------------------------------

    def _body(self, prompt, params, seed: int, max_tokens: int) -> dict:
        from gptplay.engine.remote_api import sampling_body

        body = {"prompt": prompt, "n_predict": max_tokens, "cache_prompt": True}
        body.update(sampling_body(params, seed))
        body["repeat_penalty"] = params.repeat_penalty
        return body

    def generate(self, prompt, params, seed, max_tokens, top, probs, sampled, state):
        body = self._body(prompt, params, seed, max_tokens)
        body.update(stream=True, return_tokens=True)
        if probs or sampled:
            body["n_probs"] = max(top, 1)
            body["post_sampling_probs"] = bool(sampled)
        for chunk in self.http.sse("/completion", body):
            if chunk is DONE:
                state.done = True
                break
            yield from self.chunk_tokens(chunk, top)
            if chunk.get("stop"):
                self._finish(chunk, state)

    def chunk_tokens(self, chunk: dict, top: int) -> Iterator[RawToken]:
        """The tokens of one streamed (or the whole non-streamed) response."""
        items = chunk.get("completion_probabilities") or chunk.get("probs") or []
        if not items:
            ids = chunk.get("tokens") or []
            content = str(chunk.get("content") or "")
            if ids and len(ids) == 1:
                yield RawToken(int(ids[0]), None, content)
            elif content:
                yield RawToken(None, None, content)
            return
        content = str(chunk.get("content") or "")
        for item in items:
            alts, post = _alts(item)
            pairs = tuple(
                (int(a["id"]) if "id" in a else None, _bytes(a), _logprob(a, post))
                for a in alts[:top]
            )
            token = int(item["id"]) if "id" in item else None
            data = _bytes(item)
            text = content if len(items) == 1 else data.decode("utf-8", "replace")
            yield RawToken(token, data, text, _logprob(item, post), pairs, post)

    def _finish(self, chunk: dict, state: GenState) -> None:
        state.done = True
        state.finish = _FINISH.get(str(chunk.get("stop_type")), "stop")
        if chunk.get("truncated"):
            state.finish = "context"
        if "tokens_evaluated" in chunk:
            state.prompt_tokens = int(chunk["tokens_evaluated"])
        state.cached = int(chunk.get("tokens_cached") or 0)

    # ---- scoring ------------------------------------------------------------------

    def next_top(self, ids: list[int], k: int) -> dict[Key, float]:
        # cache_prompt off: every prompt is evaluated whole, so its scores do not depend on
        # which request came before (llama.cpp rounds differently per batch split)
        body = {
            "prompt": ids,
            "n_predict": 1,
            "n_probs": k,
            "temperature": 0.0,
            "post_sampling_probs": False,
            "cache_prompt": False,
        }
        reply = self.http.json("POST", "/completion", body)
        items = reply.get("completion_probabilities") or reply.get("probs") or []
        if not items:
            from gptplay.engine.remote_api import no_logprobs

            raise no_logprobs(self.http.url)
        alts, post = _alts(items[0])
        return {int(a["id"]): _logprob(a, post) for a in alts}
