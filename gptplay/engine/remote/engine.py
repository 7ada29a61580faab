"""The remote engine: the Engine interface on a model served over HTTP.

``connect(url)`` probes the server and picks the best API it has: llama.cpp's native
``llama-server`` API (``/props``), else the OpenAI-compatible completions API (vLLM,
llama-cpp-python's server, others). What a server cannot give is said once through
``notify``, never made up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from gptplay.engine.base import CancelCheck, Stream
from gptplay.engine.decode import Utf8Stream
from gptplay.engine.remote.api import GenState, RawToken, ServerApi
from gptplay.engine.remote.check import MAX_VOCAB, Fields
from gptplay.engine.remote.score import RemoteScoring
from gptplay.engine.remote.steer import Steering, steering
from gptplay.engine.remote.transport import (
    DEFAULT_TIMEOUT_S,
    Http,
    RemoteError,
    StreamCutError,
    server_text,
)
from gptplay.engine.stops import StopMatcher
from gptplay.engine.types import (
    Alternative,
    ChatInfo,
    Completion,
    SamplingParams,
    TokenEvent,
    TokenPiece,
    shown_tokens,
)
from gptplay.errors import ContextOverflowError
from gptplay.secrets import public_url, redact, redact_bytes

DEFAULT_CTX = 4096
EXTRA_EVENTS = 8  # events read after max_tokens, for the server's final counts


def is_url(name: str) -> bool:
    return name.startswith(("http://", "https://"))


def probe(http: Http, model: str | None = None) -> ServerApi:
    """What the server at ``http`` is: llama-server, vLLM, llama-cpp-python or OpenAI-like."""
    from gptplay.engine.remote.llama_server import LlamaServerApi
    from gptplay.engine.remote.openai import OpenAIApi

    check = Fields(http.url)
    props = http.probe(http.paths.props)
    if isinstance(props, dict) and "default_generation_settings" in props:
        with check.reading(http.paths.props):
            return LlamaServerApi(http, props)
    listing = http.probe(http.paths.models)
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        raise RemoteError(
            f"{http.url} is neither llama-server (GET /props) nor an OpenAI-compatible "
            "server (GET /v1/models).",
            hint="point --model at the server's base URL, like http://HOST:PORT.",
        )
    models = [m for m in listing["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if not models:
        raise RemoteError(
            f"{http.url}{http.paths.models} lists no model.", hint="load one on the server."
        )
    chosen = next((m for m in models if m["id"] == model), None) if model else models[0]
    if chosen is None:
        names = server_text(", ".join(m["id"] for m in models), 200)
        raise RemoteError(
            f"{http.url} does not serve model {model!r}; it serves {names}.",
            hint="set the alias's model = to one of those names.",
        )
    version = http.probe(http.paths.version)  # vLLM's {"version": "0.11.0"}
    if chosen.get("owned_by") == "vllm" or isinstance(version, dict):
        flavour = "vllm"
    elif chosen.get("owned_by") == "me":  # llama-cpp-python's server
        flavour = "llama-cpp-python"
    else:
        flavour = "openai"
    api = OpenAIApi(http, str(chosen["id"]), flavour)
    api.n_ctx = check.n_ctx(chosen.get("max_model_len"), "max_model_len")
    if flavour == "vllm" and isinstance(version, dict):
        api.version = check.version(version.get("version"))
    return api


def connect(
    url: str,
    *,
    model: str | None = None,
    api_key: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    n_ctx: int | None = None,
    notify: Callable[[str, bool], None] | None = None,
    name: str | None = None,
    api_path: str | None = None,
) -> RemoteEngine:
    """Probe the server at ``url`` and return an engine on it."""
    http = Http(url, api_key, timeout, api_path)
    if http.credentials_in_url and notify is not None:
        notify(
            f"credentials in a server URL are kept out of output and history ({http.url} is "
            "shown), but are better in the environment: api_key_env = 'NAME' on an alias.",
            True,
        )
    return RemoteEngine(http, probe(http, model), n_ctx=n_ctx, notify=notify, name=name)


class RemoteEngine(RemoteScoring):
    """A model behind an HTTP server, with the same interface as the local LlamaEngine."""

    threads = 0  # the server's own; nothing runs on this machine's cores

    def __init__(
        self,
        http: Http,
        api: ServerApi,
        *,
        n_ctx: int | None = None,
        notify: Callable[[str, bool], None] | None = None,
        name: str | None = None,
    ) -> None:
        self.http, self.api = http, api
        self.url = http.url
        self.model_name = name or server_text(f"{api.model.rsplit('/', 1)[-1]} @ {http.url}")
        self.n_ctx = int(api.n_ctx or n_ctx or DEFAULT_CTX)
        self.server_kind = getattr(api, "flavour", api.kind)
        # requests worth keeping in flight (eval --concurrency): llama-cpp-python's server
        # answers one at a time, and its prompt cache would make scores depend on their order
        self.max_concurrency = 1 if self.server_kind == "llama-cpp-python" else 64
        self._notify = notify
        self._said: set[str] = set()
        self._ids: dict[bytes, int] = {}  # token text -> id, for servers that send only text
        self._steering: dict[tuple, Steering] = {}  # constraint settings -> resolved
        self.scoring_methods: dict[str, int] = {}  # method -> label tokens scored with it
        self._lock = threading.Lock()
        if api.n_ctx is None and n_ctx is None:
            self.say(
                f"{self.url} does not report its context size; assuming {DEFAULT_CTX} tokens "
                "(pass --ctx with the server's size).",
            )

    def offload_info(self) -> None:
        """The server decides where its layers run: nothing to report from here."""
        return None

    def rate_notice(self) -> None:
        """The local busy-core watch has no meaning for a server's speed."""
        return None

    def say(self, text: str, warning: bool = True) -> None:
        """Tell the user once about something this server cannot give."""
        if text in self._said:
            return
        self._said.add(text)
        if self._notify is not None:
            self._notify(text, warning)

    # ---- tokens -------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool = True) -> list[int]:
        with self.api.check.reading("a tokenizer request"):
            return self.api.tokenize(text, add_bos)

    def pieces(self, text: str, add_bos: bool = True) -> list[TokenPiece]:
        with self.api.check.reading("a tokenizer request"):
            return self.api.pieces(text, add_bos)

    def piece(self, token: int) -> bytes:
        with self.api.check.reading("a detokenizer request"):
            return self.api.piece(token)

    def detokenize(self, ids: list[int]) -> bytes:
        with self.api.check.reading("a detokenizer request"):
            return self.api.detokenize(ids)

    def chat_info(self) -> ChatInfo:
        apply = getattr(self.api, "apply_template", None) if self.api.chat_template else None
        return ChatInfo(self.api.chat_template, self.api.bos_text, self.api.eos_text, apply)

    def check_fits(self, n_prompt: int, what: str = "prompt") -> None:
        if n_prompt >= self.n_ctx:
            raise ContextOverflowError(n_prompt, self.n_ctx, what)

    # ---- generation ---------------------------------------------------------------

    def stream(
        self,
        prompt: str | list[int],
        params: SamplingParams,
        *,
        top: int = 5,
        probs: bool = True,
        sampled: bool = False,
        cancel: CancelCheck | None = None,
    ) -> Stream:
        """Stream a completion from the server, as TokenEvents."""
        from gptplay.engine.llama import random_seed

        params.validate()
        steer = self.steering(params)
        fields = self.api.steer_fields(steer) if steer.active else {}
        self._say_limits(top, probs, sampled)
        if steer.active and (probs or sampled):
            self._say_steered(steer, sampled)
        if self.api.caps.max_top is not None and top > self.api.caps.max_top:
            top = self.api.caps.max_top
        n_prompt = len(prompt) if isinstance(prompt, list) else self._count(prompt)
        if n_prompt is not None:
            self.check_fits(n_prompt)
        budget = params.max_tokens
        if n_prompt is not None:
            budget = min(budget, self.n_ctx - n_prompt)
        seed = params.seed if params.seed is not None else random_seed()
        state = GenState(prompt_tokens=n_prompt)
        counts = {"n": 0, "first": None}
        events: list[TokenEvent] = []
        start = time.perf_counter()

        def run() -> Iterator[TokenEvent]:
            extra = 0
            matcher = StopMatcher(params.stop)
            utf8 = Utf8Stream()
            inner = self.api.check.each(
                "a completion stream",
                self.api.generate(prompt, params, seed, budget, top, probs, sampled, state, fields),
            )
            try:
                for raw in inner:
                    if counts["n"] >= budget:
                        # read on a little for the server's last event (its counts), but a
                        # server that streams past max_tokens is cut here, not read for ever
                        extra += 1
                        if extra > EXTRA_EVENTS:
                            state.done = True
                            break
                        continue
                    if counts["first"] is None:
                        counts["first"] = time.perf_counter() - start
                    counts["n"] += 1
                    for out in matcher.feed(self._event(raw, utf8, probs, sampled)):
                        events.append(out)
                        yield out
                    if matcher.stopped:
                        state.finish = "stop"
                        return
                    if cancel is not None and cancel():
                        state.finish = "cancelled"
                        return
                if counts["n"] >= budget:
                    state.finish = "length" if budget == params.max_tokens else "context"
                elif not state.done:
                    raise StreamCutError(
                        f"{self.url} closed the stream after {counts['n']} tokens without "
                        "saying it was finished.",
                        hint="the text so far is kept; check the server's log and run again.",
                    )
                for out in matcher.flush():
                    events.append(out)
                    yield out
                tail = utf8.finish()
                if tail:
                    events.append(TokenEvent(id=-1, bytes=b"", text=tail))
                    yield events[-1]
            except StreamCutError:
                state.finish = "interrupted"
                events.extend(matcher.flush())
                raise
            except GeneratorExit:
                state.finish = "cancelled"
                raise
            finally:
                inner.close()

        def finish() -> Completion:
            if not self.api.caps.token_ids and probs and state.done:
                events[:] = self._with_ids(events)
            return Completion(
                tokens=shown_tokens(events),
                prompt_tokens=state.prompt_tokens or 0,
                finish_reason=state.finish,
                seed=seed,
                model=self.model_name,
                elapsed_s=time.perf_counter() - start,
                time_to_first_token_s=counts["first"],
                text="".join(e.text for e in events),
                events=tuple(events),
                cached_tokens=state.cached,
                # the server's grammar lets the model end only at the end of a sentence of
                # it; a run cut by the limit or a stop string may or may not be one: unknown
                complete=True if steer.constrained and state.eos else None,
                generated=counts["n"],
            )

        return Stream(run(), finish, params.json_schema)

    def steering(self, params: SamplingParams) -> Steering:
        """The run's constraint, and its --logit-bias resolved with the server's tokenizer
        (once per setting: eval and chat send the same bias with every request)."""
        key = (params.grammar, params.json_schema, params.choices, params.logit_bias)
        found = self._steering.get(key)
        if found is None:
            found = self._steering[key] = self._resolve(params)
        return found

    def _resolve(self, params: SamplingParams) -> Steering:
        vocab = self.api.vocab_size() if params.logit_bias else None
        tokenize = self.tokenize if self.api.caps.tokenizer else None
        unchecked = self.api.unchecked_ids() if vocab is None else None
        return steering(params, vocab or MAX_VOCAB, tokenize, self.piece, self.url, unchecked)

    def logit_bias(self, entries: tuple[str, ...]) -> list[tuple[int, float]]:
        """--logit-bias entries as (token id, bias), through the server's tokenizer."""
        return list(self.steering(SamplingParams(logit_bias=entries)).bias)

    def _with_ids(self, events: list[TokenEvent]) -> list[TokenEvent]:
        """Events with ids looked up by text, for a server that sends only text.

        Asked once the stream is over: llama-cpp-python's server serves one request at a
        time, so a tokenizer call during the stream would wait for (or cut) the stream.
        """
        from dataclasses import replace

        def lookup(token: int, data: bytes) -> int:
            if token >= 0 or not data:
                return token
            if data not in self._ids:
                try:
                    ids = self.tokenize(data.decode("utf-8"), add_bos=False)
                except (RemoteError, UnicodeDecodeError):
                    ids = []
                self._ids[data] = ids[0] if len(ids) == 1 and self.piece(ids[0]) == data else -2
            return self._ids[data]

        out = []
        for e in events:
            if e.id != -1 or not e.bytes:
                out.append(e)
                continue
            top = tuple(replace(a, id=lookup(a.id, a.bytes)) for a in e.top)
            out.append(replace(e, id=lookup(e.id, e.bytes), top=top))
        return out

    def _count(self, text: str) -> int | None:
        if not self.api.caps.tokenizer:
            self.say(f"{self.url} cannot count tokens; the context check is left to it.")
            return None
        return len(self.tokenize(text))

    def _say_limits(self, top: int, probs: bool, sampled: bool) -> None:
        caps = self.api.caps
        if probs and not caps.token_ids:
            self.say(
                f"{self.url} ({self.server_kind}) sends token text, not ids: ids are looked up "
                "with its tokenizer when the stream ends (-1 until then; -2 where none fits).",
            )
        if sampled and not caps.post_sampling:
            self.say(f"{self.url} gives no post-sampler probabilities: --sampled shows none.")
        if sampled and probs and caps.post_sampling:
            self.say(
                "llama-server gives raw or post-sampler probabilities per request, not both: "
                "with --sampled the raw ones are left out."
            )
        if probs and caps.max_top is not None and top > caps.max_top:
            self.say(f"{self.url} caps alternatives at {caps.max_top} (vLLM's max_logprobs).")

    def _say_steered(self, steer: Steering, sampled: bool) -> None:
        """Say once that a server gives no probability under a constraint or bias."""
        what = " and ".join(
            w for w, on in (("constraint", steer.constrained), ("logit bias", steer.bias)) if on
        )
        if sampled and self.api.caps.post_sampling:
            if not steer.constrained:  # post-sampler probabilities include the bias
                return
            self.say(
                f"{self.url} applies a grammar to its post-sampler probabilities only where "
                "it refused the model's draw: they are shown as the server gives them, and no "
                f"probability under the {what} (docs/remote.md, Constraints)."
            )
            return
        if self.server_kind == "vllm" and steer.constrained:
            # vLLM masks the logits with the grammar before it computes logprobs
            self.say(
                f"{self.url} (vLLM) computes its logprobs after its grammar mask: p is its "
                "probability among the tokens the constraint allows, not the model's own "
                "(docs/remote.md, Constraints)."
            )
            return
        self.say(
            f"{self.url} ({self.server_kind}) gives no probability under the {what}: p is "
            "the server's own log-probability (docs/remote.md, Constraints)."
        )

    def _event(self, raw: RawToken, utf8: Utf8Stream, probs: bool, sampled: bool) -> TokenEvent:
        data = redact_bytes(raw.data if raw.data is not None else raw.text.encode("utf-8"))
        text = redact(utf8.feed(data) if raw.data is not None else raw.text)
        token = raw.id if raw.id is not None else -1
        alts = tuple(
            Alternative(i if i is not None else -1, redact_bytes(b), lp) for i, b, lp in raw.top
        )
        if raw.post_sampling:
            logprob = raw.logprob if probs and not sampled else None
            return TokenEvent(
                token,
                data,
                text,
                None if sampled else logprob,
                () if sampled else alts,
                raw.logprob if sampled else None,
                alts if sampled else (),
            )
        return TokenEvent(token, data, text, raw.logprob if probs else None, alts if probs else ())


def connect_model(resolved, n_ctx: int | None, notify) -> RemoteEngine:
    """An engine for a ResolvedModel that names a server (``--model http://...``, an alias)."""
    remote = resolved.remote
    return connect(
        remote.url,
        model=remote.model,
        api_key=remote.api_key(),
        timeout=remote.timeout or DEFAULT_TIMEOUT_S,
        n_ctx=n_ctx,
        notify=notify,
        name=resolved.name if resolved.name != public_url(remote.url).rstrip("/") else None,
        api_path=remote.api_path,
    )
