"""Server dialects: what every dialect gives the remote engine (see remote_openai.py and
remote_llama.py for the two APIs).

A dialect turns one server's JSON into ``RawToken``s and top-K maps; the engine
(``remote.py``) turns those into the project's TokenEvents and ScoredTokens.
Alternatives are keyed by token id where the server sends ids, by bytes otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gptplay.engine.remote.check import MAX_VOCAB, Fields
from gptplay.engine.remote.steer import Steering, lacks
from gptplay.engine.remote.transport import Http, RemoteError
from gptplay.engine.types import SamplingParams, TokenPiece

Key = int | bytes  # a token id, or the token's bytes where the server sends no id


@dataclass(frozen=True)
class RawToken:
    """One generated token as a server reported it."""

    id: int | None
    data: bytes | None  # exact bytes, where the server sends them
    text: str  # the text the server streamed for this token
    logprob: float | None = None
    top: tuple[tuple[int | None, bytes, float], ...] = ()
    post_sampling: bool = False  # logprob/top are after the samplers (llama-server)


@dataclass
class GenState:
    """What a dialect learns while streaming: why it stopped, and the prompt's size."""

    finish: str = "length"
    prompt_tokens: int | None = None
    cached: int = 0
    done: bool = False  # the server said it was finished (a stream without it was cut)
    eos: bool = False  # ... because the model ended its text (under a grammar: a whole sentence)


@dataclass
class Capabilities:
    """What a server can do; the engine says once what it cannot."""

    token_ids: bool = True  # generated tokens and alternatives come with ids
    token_bytes: bool = True  # ... and with exact bytes
    post_sampling: bool = False
    echo: bool = False
    prompt_logprobs: bool = False
    top_logprobs: bool = True
    max_top: int | None = None  # a cap on top-K (vLLM's max_logprobs)
    token_prompts: bool = True  # accepts a prompt as token ids
    tokenizer: bool = True  # has tokenize/detokenize endpoints
    notes: list[str] = field(default_factory=list)


class ServerApi:
    """The base of a dialect: tokenizer calls with per-text and per-id caches."""

    kind = "server"

    def __init__(self, http: Http, model: str) -> None:
        self.http = http
        self.model = model
        self.check = Fields(http.url)
        self.caps = Capabilities()
        self.n_ctx: int | None = None
        self.chat_template: str | None = None
        self.bos_text = ""
        self.eos_text = ""
        self._pieces: dict[int, bytes] = {}

    # tokenizer: each dialect implements _tokenize(text, add_bos) and _piece_bytes(ids)
    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        return self._tokenize(text, add_bos)

    def _tokenize(self, text: str, add_bos: bool) -> list[int]:
        raise RemoteError(
            f"{self.http.url} has no tokenizer endpoint, so token counts, `tokens` and `eval` "
            "cannot run on it.",
            hint="serve the model with llama-server, vLLM or llama-cpp-python's server.",
        )

    def pieces(self, text: str, add_bos: bool = True) -> list[TokenPiece]:
        ids = self.tokenize(text, add_bos)
        return [TokenPiece(t, self.piece(t)) for t in ids]

    def piece(self, token: int) -> bytes:
        if token not in self._pieces:
            self._pieces[token] = self._detokenize([token])
        return self._pieces[token]

    def detokenize(self, ids: list[int]) -> bytes:
        return self._detokenize(list(ids))

    def _detokenize(self, ids: list[int]) -> bytes:
        raise RemoteError(f"{self.http.url} has no detokenizer endpoint.")

    def prompt_body(self, prompt: str | list[int]) -> str | list[int]:
        """The prompt as the server takes it: ids where it can, else their text."""
        if isinstance(prompt, str) or self.caps.token_prompts:
            return prompt
        return self.text_of(prompt)

    def text_of(self, ids: list[int]) -> str:
        """Token ids as text for a server that takes only text (its BOS is added back)."""
        body = ids[1:] if ids and self.piece(ids[0]) == self.bos_bytes() else ids
        return self.detokenize(body).decode("utf-8", "replace")

    def bos_bytes(self) -> bytes:
        return self.bos_text.encode("utf-8") if self.bos_text else b"\0no-bos"

    # constraints and logit bias: each dialect sends what its server takes
    def vocab_size(self) -> int | None:
        """The server's vocabulary size, where it says (bounds --logit-bias ids)."""
        return None

    def unchecked_ids(self) -> str | None:
        """Why a --logit-bias id cannot be sent unchecked when vocab_size() is None (a
        server that drops it silently); None where the server refuses a bad id itself."""
        return None

    def steer_fields(self, steer: Steering) -> dict:
        """The request fields for ``steer``; UsageError where the server has none for it."""
        if steer.constrained:
            raise lacks(self.http.url, self.kind, steer.what, "takes no grammar")
        if steer.bias:
            raise lacks(self.http.url, self.kind, "--logit-bias", "takes no logit bias")
        return {}

    # generation and scoring: implemented per dialect
    def generate(
        self,
        prompt: str | list[int],
        params: SamplingParams,
        seed: int,
        max_tokens: int,
        top: int,
        probs: bool,
        sampled: bool,
        state: GenState,
        steer: dict | None = None,
    ) -> Iterator[RawToken]:
        """Stream the tokens; ``steer`` holds the request fields from steer_fields."""
        raise NotImplementedError

    def next_top(self, ids: list[int], k: int) -> dict[Key, float]:
        """The top-k log-probabilities of the token after ``ids`` (raw, before samplers)."""
        raise NotImplementedError

    def prompt_scores(self, ids: list[int], start: int, top: int) -> list[tuple]:
        """(logprob, [(id|None, bytes, logprob)...]) for each of ids[start:], in one request."""
        raise NotImplementedError


def sampling_body(params: SamplingParams, seed: int) -> dict:
    """The sampler settings every dialect sends (names shared by llama.cpp, vLLM, OpenAI)."""
    return {
        "temperature": params.temperature,
        "top_k": params.top_k,
        "top_p": params.top_p,
        "min_p": params.min_p,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
        "seed": seed,
    }


def split_key(key: str, piece) -> tuple[int | None, bytes]:
    """An OpenAI top_logprobs key: vLLM's 'token_id:N' (bytes looked up), or the text."""
    if key.startswith("token_id:"):
        digits = key[9:]
        if not (digits.isascii() and digits.isdigit()) or int(digits) >= MAX_VOCAB:
            raise RemoteError(
                f"a server sent the token key {key[:40]!r}, which names no token id.",
                hint="the server answered something gptplay cannot use: check --model.",
            )
        return int(digits), piece(int(digits))
    return None, key.encode("utf-8")


def no_logprobs(url: str, what: str = "log-probabilities") -> RemoteError:
    return RemoteError(
        f"{url} sent no {what}.",
        hint="the server must return logprobs (llama-cpp-python: --logits_all true; vLLM: "
        "--max-logprobs; llama-server: n_probs), or run without probabilities (--no-probs).",
    )
