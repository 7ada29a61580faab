"""Server dialects, part 2: llama.cpp's ``llama-server`` native API.

``/completion`` with ``n_probs`` gives ``completion_probabilities[]`` of ``{id, token, bytes,
logprob, top_logprobs[]}`` (``prob``/``top_probs`` with ``post_sampling_probs``), so tokens and
alternatives come with ids and exact bytes. It has no prompt log-probabilities (llama.cpp
#27174): scoring asks for the top ``n_probs`` at each position instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from gptplay.engine.remote.api import Capabilities, GenState, Key, RawToken, ServerApi
from gptplay.engine.remote.check import Fields
from gptplay.engine.remote.steer import Steering, llama_bias
from gptplay.engine.remote.transport import DONE, Http, server_text

# llama-server's stop_type -> our finish reason
_FINISH = {"eos": "stop", "word": "stop", "limit": "length"}


def _alts(check: Fields, item: Mapping) -> tuple[list, bool]:
    """An item's alternatives and whether they are post-sampling probabilities."""
    if "top_probs" in item:
        return check.items(item["top_probs"], "top_probs"), True
    return check.items(item.get("top_logprobs"), "top_logprobs"), False


class LlamaServerApi(ServerApi):
    """llama.cpp's server, recognised by ``GET /props``."""

    kind = "llama-server"

    def __init__(self, http: Http, props: Mapping) -> None:
        check = Fields(http.url)
        path = check.text(props.get("model_path") or props.get("model_alias"), "model_path")
        super().__init__(http, path.rsplit("/", 1)[-1] or "llama-server")
        self.caps = Capabilities(post_sampling=True)
        settings = check.mapping(
            props["default_generation_settings"], "default_generation_settings"
        )
        n_ctx = settings.get("n_ctx")
        self.n_ctx = check.n_ctx(n_ctx if n_ctx is not None else props.get("n_ctx"))
        self.chat_template = check.text(props.get("chat_template"), "chat_template") or None
        self.bos_text = check.text(props.get("bos_token"), "bos_token")
        self.eos_text = check.text(props.get("eos_token"), "eos_token")
        slots = props.get("total_slots")
        self.slots = max(1, check.count(slots, "total_slots")) if slots is not None else 1
        self.build = server_text(str(props.get("build_info") or ""), 120)
        self._n_vocab: int | None | bool = False  # False: not asked yet

    # ---- tokenizer ----------------------------------------------------------------

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        return [p.id for p in self.pieces(text, add_bos)]

    def pieces(self, text: str, add_bos: bool = True):
        from gptplay.engine.types import TokenPiece

        body = {"content": text, "add_special": add_bos, "parse_special": True, "with_pieces": True}
        out = []
        reply = self.check.mapping(
            self.http.json("POST", self.http.paths.tokenize, body), "/tokenize"
        )
        for tok in self.check.items(reply.get("tokens"), "tokens"):
            if not isinstance(tok, Mapping):  # an older server without pieces
                token = self.check.token_id(tok, "tokens")
                out.append(TokenPiece(token, self.piece(token)))
                continue
            token = self.check.token_id(tok.get("id"), "tokens[].id")
            piece = tok.get("piece", "")
            if isinstance(piece, list):
                data = self.check.byte_values(piece, "tokens[].piece")
            else:
                data = self.check.text(piece, "tokens[].piece").encode("utf-8")
            self._pieces.setdefault(token, data)
            out.append(TokenPiece(token, data))
        return out

    def _detokenize(self, ids: list[int]) -> bytes:
        out = self.http.json("POST", self.http.paths.detokenize, {"tokens": ids})
        content = self.check.mapping(out, "/detokenize").get("content")
        return self.check.text(content, "content").encode("utf-8")

    def apply_template(self, messages: list[dict]) -> str:
        """The server's own rendering of a conversation (``/apply-template``)."""
        return str(
            self.http.json("POST", self.http.paths.apply_template, {"messages": messages})["prompt"]
        )

    # ---- constraints --------------------------------------------------------------

    def steer_fields(self, steer: Steering) -> dict:
        """``grammar`` (GBNF; --choice as its grammar), ``json_schema`` (the schema object,
        converted by the server) and ``logit_bias`` as [[id, bias]], ``false`` to ban."""
        fields: dict = {}
        if steer.schema_text is not None:
            fields["json_schema"] = steer.schema()
        elif steer.grammar is not None:
            fields["grammar"] = steer.grammar
        if steer.bias:
            fields["logit_bias"] = llama_bias(steer)
        return fields

    def vocab_size(self) -> int | None:
        """``meta.n_vocab`` of the model in ``GET /v1/models``, where the build reports it."""
        if self._n_vocab is False:
            self._n_vocab = None
            listing = self.http.probe(self.http.paths.models)
            models = listing.get("data") if isinstance(listing, Mapping) else None
            if isinstance(models, list) and models and isinstance(models[0], Mapping):
                meta = models[0].get("meta")
                if isinstance(meta, Mapping) and meta.get("n_vocab") is not None:
                    self._n_vocab = self.check.vocab_size(meta["n_vocab"], "meta.n_vocab")
        return self._n_vocab

    def unchecked_ids(self) -> str | None:
        return (
            "does not report its vocabulary size (meta.n_vocab in GET /v1/models), and "
            "llama-server ignores a logit_bias id outside it"
        )

    # ---- generation ---------------------------------------------------------------

    def _body(self, prompt, params, seed: int, max_tokens: int) -> dict:
        from gptplay.engine.remote.api import sampling_body

        body = {"prompt": prompt, "n_predict": max_tokens, "cache_prompt": True}
        body.update(sampling_body(params, seed))
        body["repeat_penalty"] = params.repeat_penalty
        return body

    def generate(self, prompt, params, seed, max_tokens, top, probs, sampled, state, steer=None):
        body = self._body(prompt, params, seed, max_tokens)
        body.update(steer or {})
        body.update(stream=True, return_tokens=True)
        if probs or sampled:
            body["n_probs"] = max(top, 1)
            body["post_sampling_probs"] = bool(sampled)
        for chunk in self.http.sse(self.http.paths.completion, body):
            if chunk is DONE:
                state.done = True
                break
            yield from self.chunk_tokens(chunk, top)
            if chunk.get("stop"):
                self._finish(chunk, state)

    def chunk_tokens(self, chunk: Mapping, top: int) -> Iterator[RawToken]:
        """The tokens of one streamed (or the whole non-streamed) response."""
        check = self.check
        items = chunk.get("completion_probabilities") or chunk.get("probs")
        items = check.items(items, "completion_probabilities")
        content = check.text(chunk.get("content"), "content")
        if not items:
            ids = check.token_ids(chunk.get("tokens"), "tokens")
            if len(ids) == 1:
                yield RawToken(ids[0], None, content)
            elif content:
                yield RawToken(None, None, content)
            return
        for item in items:
            item = check.mapping(item, "completion_probabilities[]")
            alts, post = _alts(check, item)
            pairs = tuple(self._token(check.mapping(a, "top_logprobs[]"), post) for a in alts[:top])
            token, data, logprob = self._token(item, post)
            text = content if len(items) == 1 else data.decode("utf-8", "replace")
            yield RawToken(token, data, text, logprob, pairs, post)

    def _token(self, item: Mapping, post: bool) -> tuple[int | None, bytes, float]:
        """(id, bytes, log-probability) of one reported token or alternative."""
        check = self.check
        token = check.token_id(item["id"], "id") if "id" in item else None
        raw = item.get("bytes")
        if raw is not None:
            data = check.byte_values(raw, "bytes")
        else:
            data = check.text(item.get("token"), "token").encode("utf-8")
        if post or "logprob" not in item:
            logprob = check.prob(item.get("prob", 0.0), "prob")
        else:
            logprob = check.logprob(item["logprob"], "logprob")
        return token, data, logprob

    def _finish(self, chunk: Mapping, state: GenState) -> None:
        state.done = True
        state.eos = chunk.get("stop_type") == "eos"
        state.finish = _FINISH.get(str(chunk.get("stop_type")), "stop")
        if chunk.get("truncated"):
            state.finish = "context"
        if "tokens_evaluated" in chunk:
            state.prompt_tokens = self.check.count(chunk["tokens_evaluated"], "tokens_evaluated")
        cached = chunk.get("tokens_cached")
        state.cached = self.check.count(cached, "tokens_cached") if cached is not None else 0

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
        reply = self.check.mapping(
            self.http.json("POST", self.http.paths.completion, body), "/completion"
        )
        items = reply.get("completion_probabilities") or reply.get("probs")
        items = self.check.items(items, "completion_probabilities")
        if not items:
            from gptplay.engine.remote.api import no_logprobs

            raise no_logprobs(self.http.url)
        alts, post = _alts(self.check, self.check.mapping(items[0], "completion_probabilities[]"))
        out: dict[Key, float] = {}
        for a in alts:
            token, _, logprob = self._token(self.check.mapping(a, "top_logprobs[]"), post)
            if token is None:
                raise self.check.bad("top_logprobs[].id", None, "llama-server sends ids")
            out[token] = logprob
        return out
