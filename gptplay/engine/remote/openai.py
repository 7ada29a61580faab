"""The OpenAI-compatible completions dialect: vLLM, llama-cpp-python's server, others.

``/v1/completions`` with ``logprobs`` (and ``echo``; vLLM also ``prompt_logprobs`` and
``return_tokens_as_token_ids``). Tokenizer calls use each server's own endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from gptplay.engine.remote.api import (
    Capabilities,
    Key,
    RawToken,
    ServerApi,
    no_logprobs,
    sampling_body,
    split_key,
)
from gptplay.engine.remote.steer import Steering, lacks, spaced_choices
from gptplay.engine.remote.transport import DONE, Http, RemoteError
from gptplay.engine.types import SamplingParams

# vLLM took guided_json/guided_grammar/guided_choice until 0.12 and structured_outputs from
# 0.10.2; it ignores a field it does not know, so the version decides which is sent
VLLM_STRUCTURED_OUTPUTS = (0, 10, 2)


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
        self.version: tuple[int, ...] | None = None  # vLLM's, from GET /version

    # ---- tokenizer ----------------------------------------------------------------

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        if self.flavour == "vllm":
            body = {"model": self.model, "prompt": text, "add_special_tokens": add_bos}
            return self._ids(self.http.json("POST", self.http.paths.tokenize, body), "/tokenize")
        if self.flavour == "llama-cpp-python":
            # /extras/tokenize always adds BOS: tokenize "" once to learn it, strip it when asked
            reply = self.http.json("POST", self.http.paths.extras_tokenize, {"input": text})
            ids = self._ids(reply, "/extras/tokenize")
            if not add_bos and ids and ids[0] == self.bos_id():
                ids = ids[1:]
            return ids
        return super()._tokenize(text, add_bos)

    def bos_id(self) -> int | None:
        if self._bos is None and self.flavour == "llama-cpp-python":
            reply = self.http.json("POST", self.http.paths.extras_tokenize, {"input": ""})
            ids = self._ids(reply, "/extras/tokenize")
            self._bos = ids[0] if len(ids) == 1 else -1
        return self._bos

    def _ids(self, reply: object, path: str) -> list[int]:
        return self.check.token_ids(self.check.mapping(reply, path).get("tokens"), "tokens")

    def _detokenize(self, ids: list[int]) -> bytes:
        if self.flavour == "vllm":
            out = self.http.json(
                "POST", self.http.paths.detokenize, {"model": self.model, "tokens": ids}
            )
            text = self.check.mapping(out, "/detokenize").get("prompt")
            return self.check.text(text, "prompt").encode("utf-8")
        if self.flavour == "llama-cpp-python":
            if ids and ids[0] == self.bos_id():
                return self.bos_bytes() + self._detokenize(ids[1:])
            try:
                out = self.http.json("POST", self.http.paths.extras_detokenize, {"tokens": ids})
            except RemoteError:  # its detokenizer fails on a piece of a UTF-8 character
                return b""
            text = self.check.mapping(out, "/extras/detokenize").get("text")
            return self.check.text(text, "text").encode("utf-8")
        return super()._detokenize(ids)

    def bos_bytes(self) -> bytes:
        return b"<bos>" if self.flavour == "llama-cpp-python" else super().bos_bytes()

    def text_of(self, ids: list[int]) -> str:
        body = ids[1:] if ids and ids[0] == self.bos_id() else ids
        return self.detokenize(body).decode("utf-8", "replace")

    # ---- constraints --------------------------------------------------------------

    def steer_fields(self, steer: Steering) -> dict:
        """logit_bias by id ({"id": bias}, a ban as -100, OpenAI's range) on every flavour;
        a constraint as llama-cpp-python's ``grammar`` or vLLM's structured outputs."""
        fields: dict = {"logit_bias": steer.openai_bias()} if steer.bias else {}
        if not steer.constrained:
            return fields
        if self.flavour == "llama-cpp-python":
            from gptplay.engine.grammars import schema_grammar

            # its /v1/completions takes GBNF only: a schema goes as llama-cpp-python's own
            # conversion of it, the converter the local engine uses
            if steer.schema_text is not None:
                fields["grammar"] = schema_grammar(steer.schema_text)
            else:
                fields["grammar"] = steer.grammar
            return fields
        if self.flavour == "vllm":
            fields.update(self._vllm_fields(steer))
            return fields
        raise lacks(
            self.http.url,
            "an OpenAI-compatible server gptplay does not know",
            steer.what,
            "has no grammar or JSON-schema field on /v1/completions that gptplay knows of",
        )

    def unchecked_ids(self) -> str | None:
        if self.flavour != "llama-cpp-python":
            return None  # vLLM refuses an id outside its vocabulary; others: their own
        return (
            "(llama-cpp-python) does not report its vocabulary size, and drops the whole "
            "logit_bias when an id is outside it"
        )

    def _vllm_fields(self, steer: Steering) -> dict:
        if self.version is None:
            raise lacks(
                self.http.url,
                "vLLM",
                steer.what,
                "gave no version gptplay can read (GET /version), and vLLM ignores the "
                "structured-output field of another version",
            )
        if steer.schema_text is not None:
            key, value = "json", steer.schema()
        elif steer.choices:
            key, value = "choice", spaced_choices(steer.choices)
        else:
            key, value = "grammar", steer.grammar
        if self.version >= VLLM_STRUCTURED_OUTPUTS:
            return {"structured_outputs": {key: value}}
        return {f"guided_{key}": value}

    # ---- generation ---------------------------------------------------------------

    def _body(self, prompt, params: SamplingParams, seed: int, max_tokens: int) -> dict:
        body = {"model": self.model, "prompt": self.prompt_body(prompt), "max_tokens": max_tokens}
        body.update(sampling_body(params, seed))
        key = "repetition_penalty" if self.flavour == "vllm" else "repeat_penalty"
        body[key] = params.repeat_penalty
        if self.flavour == "vllm":
            body["return_tokens_as_token_ids"] = True
        return body

    def generate(self, prompt, params, seed, max_tokens, top, probs, sampled, state, steer=None):
        body = self._body(prompt, params, seed, max_tokens)
        body.update(steer or {})
        body["stream"] = True
        if probs:
            body["logprobs"] = top
        for chunk in self.http.sse(self.http.paths.completions, body):
            if chunk is DONE:
                state.done = True
                break
            choice = self._choice(chunk, "a streamed event", allow_none=True)
            yield from self._tokens(choice, top, probs)
            if choice.get("finish_reason"):
                # no stop strings are sent (gptplay matches them), so "stop" is the model's end
                state.eos = choice["finish_reason"] == "stop"
                state.finish = "stop" if state.eos else "length"
                state.done = True

    def _choice(self, reply: object, what: str, allow_none: bool = False) -> Mapping:
        """The first of an answer's ``choices``, checked."""
        choices = self.check.items(self.check.mapping(reply, what).get("choices"), "choices")
        if not choices:
            if allow_none:  # a stream's usage-only event
                return {}
            raise self.check.bad("choices", choices, "expected at least one choice")
        return self.check.mapping(choices[0], "choices[0]")

    def _alternatives(self, value: object, field: str = "top_logprobs[]") -> list[tuple]:
        """A top_logprobs map as (id|None, bytes, logprob), most likely first."""
        if value is None:
            return []
        pairs = [
            (*split_key(self.check.text(k, field), self.piece), self.check.logprob(v, field))
            for k, v in self.check.mapping(value, field).items()
        ]
        return sorted(pairs, key=lambda p: -p[2])

    def _tokens(self, choice: Mapping, top: int, probs: bool) -> Iterator[RawToken]:
        check = self.check
        text = check.text(choice.get("text"), "text")
        lp = check.mapping(choice.get("logprobs") or {}, "logprobs")
        names = check.items(lp.get("tokens"), "logprobs.tokens")
        if not names:
            if text:
                yield RawToken(None, None, text)
            return
        logprobs = check.items(lp.get("token_logprobs"), "token_logprobs") or [None] * len(names)
        tops = check.items(lp.get("top_logprobs"), "top_logprobs") or [None] * len(names)
        for name, logprob, alts in zip(names, logprobs, tops):
            token, data = split_key(check.text(name, "logprobs.tokens"), self.piece)
            shown = text if len(names) == 1 else data.decode("utf-8", "replace")
            yield RawToken(
                token,
                data if token is not None else None,
                shown,
                None if logprob is None else check.logprob(logprob, "token_logprobs"),
                tuple(self._alternatives(alts)[:top]) if probs else (),
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
        choice = self._choice(
            self.http.json("POST", self.http.paths.completions, body), "/completions"
        )
        lp = self.check.mapping(choice.get("logprobs") or {}, "logprobs")
        tops = self.check.items(lp.get("top_logprobs"), "top_logprobs")
        alts = self._alternatives(tops[0]) if tops else []
        if not alts:
            raise no_logprobs(self.http.url)
        return {token if token is not None else data: v for token, data, v in alts}

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
        choice = self._choice(
            self.http.json("POST", self.http.paths.completions, body), "/completions"
        )
        rows = self.check.items(choice.get("prompt_logprobs"), "prompt_logprobs")
        if not rows or len(rows) != len(ids):
            raise no_logprobs(self.http.url, "prompt log-probabilities")
        out = []
        for pos in range(start, len(ids)):
            row = {}
            for k, v in self.check.mapping(rows[pos] or {}, "prompt_logprobs[]").items():
                token = int(k) if isinstance(k, str) and k.isdigit() else k
                entry = self.check.mapping(v, "prompt_logprobs[][]")
                row[self.check.token_id(token, "prompt_logprobs[] key")] = self.check.logprob(
                    entry.get("logprob"), "prompt_logprobs[].logprob"
                )
            ranked = sorted(row.items(), key=lambda p: -p[1])
            alts = [(t, self.piece(t), lp) for t, lp in ranked[:top]]
            out.append((row.get(ids[pos]), alts))
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
        choice = self._choice(
            self.http.json("POST", self.http.paths.completions, body), "/completions"
        )
        lp = self.check.mapping(choice.get("logprobs") or {}, "logprobs")
        values = [
            None if v is None else self.check.logprob(v, "token_logprobs")
            for v in self.check.items(lp.get("token_logprobs"), "token_logprobs")
        ]
        names = [self.check.text(n, "tokens") for n in self.check.items(lp.get("tokens"), "tokens")]
        tops = self.check.items(lp.get("top_logprobs"), "top_logprobs")
        n_prompt = len(ids) - (1 if ids and ids[0] == self.bos_id() else 0)
        if len(values) < n_prompt:
            raise no_logprobs(self.http.url, "echoed prompt log-probabilities")
        skip = len(ids) - n_prompt  # the BOS is not echoed
        out = []
        for pos in range(start, len(ids)):
            i = pos - skip
            alts = self._alternatives(tops[i] if i < len(tops) else None)
            out.append((values[i], alts[:top], names[i] if i < len(names) else ""))
        return out
