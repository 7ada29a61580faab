"""The OpenAI-compatible completions dialect: vLLM, llama-cpp-python's server, others.

``/v1/completions`` with ``logprobs`` (and ``echo``; vLLM also ``prompt_logprobs`` and
``return_tokens_as_token_ids``). Tokenizer calls use each server's own endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator

from gptplay.engine.remote_api import (
    Capabilities,
    Key,
    RawToken,
    ServerApi,
    no_logprobs,
    sampling_body,
    split_key,
)
from gptplay.engine.remote_http import DONE, Http, RemoteError
from gptplay.engine.types import SamplingParams


class OpenAIApi(ServerApi):
    """``/v1/completions``: vLLM, llama-cpp-python's server, and other compatible servers."""

    kind = "openai"

    def __init__(self, http: Http, model: str, flavour: str) -> None:
        super().__init__(http, model)
        self.flavour = flavour  # "vllm", "llama-cpp-python" or "openai"
        vllm = flavour == "vllm"
        self.caps = Capabilities(
            token_ids=vllm,
            token_bytes=False,
            echo=True,
            prompt_logprobs=vllm,
            max_top=20 if vllm else None,
            token_prompts=flavour != "llama-cpp-python",
            tokenizer=flavour in ("vllm", "llama-cpp-python"),
        )
        self._bos: int | None = None

    # ---- tokenizer ----------------------------------------------------------------

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        if self.flavour == "vllm":
            body = {"model": self.model, "prompt": text, "add_special_tokens": add_bos}
            return list(self.http.json("POST", "/tokenize", body)["tokens"])
        if self.flavour == "llama-cpp-python":
            # /extras/tokenize always adds BOS: tokenize "" once to learn it, strip it when asked
            ids = list(self.http.json("POST", "/extras/tokenize", {"input": text})["tokens"])
            if not add_bos and ids and ids[0] == self.bos_id():
                ids = ids[1:]
            return ids
        return super()._tokenize(text, add_bos)

    def bos_id(self) -> int | None:
        if self._bos is None and self.flavour == "llama-cpp-python":
            ids = self.http.json("POST", "/extras/tokenize", {"input": ""})["tokens"]
            self._bos = ids[0] if len(ids) == 1 else -1
        return self._bos

    def _detokenize(self, ids: list[int]) -> bytes:
        if self.flavour == "vllm":
            out = self.http.json("POST", "/detokenize", {"model": self.model, "tokens": ids})
            return str(out["prompt"]).encode("utf-8")
        if self.flavour == "llama-cpp-python":
            if ids and ids[0] == self.bos_id():
                return self.bos_bytes() + self._detokenize(ids[1:])
            try:
                out = self.http.json("POST", "/extras/detokenize", {"tokens": ids})
            except RemoteError:  # its detokenizer fails on a piece of a UTF-8 character
                return b""
            return str(out["text"]).encode("utf-8")
        return super()._detokenize(ids)

    def bos_bytes(self) -> bytes:
        return b"<bos>" if self.flavour == "llama-cpp-python" else super().bos_bytes()

    def text_of(self, ids: list[int]) -> str:
        body = ids[1:] if ids and ids[0] == self.bos_id() else ids
        return self.detokenize(body).decode("utf-8", "replace")

    # ---- generation ---------------------------------------------------------------

    def _body(self, prompt, params: SamplingParams, seed: int, max_tokens: int) -> dict:
        body = {"model": self.model, "prompt": self.prompt_body(prompt), "max_tokens": max_tokens}
        body.update(sampling_body(params, seed))
        key = "repetition_penalty" if self.flavour == "vllm" else "repeat_penalty"
        body[key] = params.repeat_penalty
        if self.flavour == "vllm":
            body["return_tokens_as_token_ids"] = True
        return body

    def generate(self, prompt, params, seed, max_tokens, top, probs, sampled, state):
        body = self._body(prompt, params, seed, max_tokens)
        body["stream"] = True
        if probs:
            body["logprobs"] = top
        for chunk in self.http.sse("/v1/completions", body):
            if chunk is DONE:
                state.done = True
                break
            choices = chunk.get("choices") or [{}]
            choice = choices[0]
            yield from self._tokens(choice, top, probs)
            if choice.get("finish_reason"):
                state.finish = "stop" if choice["finish_reason"] == "stop" else "length"
                state.done = True

    def _tokens(self, choice: dict, top: int, probs: bool) -> Iterator[RawToken]:
        text = choice.get("text") or ""
        lp = choice.get("logprobs") or {}
        names = lp.get("tokens") or []
        if not names:
            if text:
                yield RawToken(None, None, text)
            return
        logprobs = lp.get("token_logprobs") or [None] * len(names)
        tops = lp.get("top_logprobs") or [None] * len(names)
        for name, logprob, alts in zip(names, logprobs, tops):
            token, data = split_key(name, self.piece)
            shown = text if len(names) == 1 else data.decode("utf-8", "replace")
            pairs = sorted(
                ((*split_key(k, self.piece), v) for k, v in (alts or {}).items()),
                key=lambda p: -p[2],
            )
            yield RawToken(
                token,
                data if token is not None else None,
                shown,
                logprob,
                tuple(pairs[:top]) if probs else (),
            )

    # ---- scoring ------------------------------------------------------------------

    def next_top(self, ids: list[int], k: int) -> dict[Key, float]:
        body = {
            "model": self.model,
            "prompt": self.prompt_body(ids),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": k,
        }
        if self.flavour == "vllm":
            body["return_tokens_as_token_ids"] = True
        choice = self.http.json("POST", "/v1/completions", body)["choices"][0]
        alts = ((choice.get("logprobs") or {}).get("top_logprobs") or [None])[0]
        if not alts:
            raise no_logprobs(self.http.url)
        out: dict[Key, float] = {}
        for key, value in alts.items():
            token, data = split_key(key, self.piece)
            out[token if token is not None else data] = value
        return out

    def prompt_scores(self, ids: list[int], start: int, top: int) -> list[tuple]:
        if self.caps.prompt_logprobs:
            return self._prompt_logprobs(ids, start, top)
        return self._echo(ids, start, top)

    def _prompt_logprobs(self, ids: list[int], start: int, top: int) -> list[tuple]:
        body = {
            "model": self.model,
            "prompt": ids,
            "max_tokens": 1,
            "temperature": 0.0,
            "prompt_logprobs": max(top, 1),
        }
        choice = self.http.json("POST", "/v1/completions", body)["choices"][0]
        rows = choice.get("prompt_logprobs")
        if not rows or len(rows) != len(ids):
            raise no_logprobs(self.http.url, "prompt log-probabilities")
        out = []
        for pos in range(start, len(ids)):
            row = {int(k): v for k, v in (rows[pos] or {}).items()}
            mine = row.get(ids[pos], {}).get("logprob")
            ranked = sorted(
                ((t, v["logprob"], v.get("rank") or 0) for t, v in row.items()),
                key=lambda p: -p[1],
            )
            alts = [(t, self.piece(t), lp) for t, lp, _ in ranked[:top]]
            out.append((mine, alts))
        return out

    def _echo(self, ids: list[int], start: int, top: int) -> list[tuple]:
        """Echo the prompt with its log-probabilities; the tokens are located by text offset."""
        prompt = self.prompt_body(ids)
        body = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": max(top, 1),
        }
        choice = self.http.json("POST", "/v1/completions", body)["choices"][0]
        lp = choice.get("logprobs") or {}
        values, names = lp.get("token_logprobs") or [], lp.get("tokens") or []
        n_prompt = len(ids) - (1 if ids and ids[0] == self.bos_id() else 0)
        if len(values) < n_prompt:
            raise no_logprobs(self.http.url, "echoed prompt log-probabilities")
        skip = len(ids) - n_prompt  # the BOS is not echoed
        out = []
        for pos in range(start, len(ids)):
            i = pos - skip
            alts = sorted(
                ((*split_key(k, self.piece), v) for k, v in (lp["top_logprobs"][i] or {}).items()),
                key=lambda p: -p[2],
            )
            out.append((values[i], alts[:top], names[i]))
        return out
