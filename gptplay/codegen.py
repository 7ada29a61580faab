"""'View code': the Python or curl call that reproduces a prompt and its sampling settings.

A GGUF file gets llama-cpp-python (``Llama.create_completion``), a server the OpenAI client
or curl against its ``/completions`` endpoint. An API key is never written: the code reads
it from the environment variable gptplay reads it from, and the text passes through
``secrets.redact`` (a URL's ``user:password@`` is dropped). No terminal code here.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from gptplay.secrets import public_url, redact
from gptplay.settings import SamplingParams

FORMATS = ("python", "curl")
LOCAL_PORT = 8080  # where the curl for a GGUF file expects the llama-server it starts
SAME_TEXT = (
    "temperature 0 gives gptplay's text; when sampling, llama.cpp's samplers may draw "
    "other tokens for the same seed than gptplay's own chain"
)


@dataclass(frozen=True)
class Target:
    """Where the prompt goes: a GGUF file (with its load settings) or a server."""

    model_path: str | None = None
    ctx: int | None = None
    threads: int | None = None
    gpu_layers: int | None = None
    url: str | None = None  # an OpenAI-compatible server
    api: str = "/v1"  # its API's base path
    model: str | None = None  # the model the server serves, when named
    key_env: str | None = None  # the environment variable its key is read from


def target_of(settings) -> Target:
    """Where resolved settings' model is: its GGUF file (not loaded) or its server."""
    import os

    from gptplay.config import load_config
    from gptplay.engine.remote.endpoints import api_path
    from gptplay.models import resolve_model

    resolved = resolve_model(str(settings["model"]), load_config())
    remote = resolved.remote
    if remote is None:
        return Target(
            model_path=str(resolved.path),
            ctx=settings["ctx"],
            threads=settings["threads"],
            gpu_layers=settings["gpu_layers"],
        )
    # the variable the key comes from, never the key itself
    env = remote.api_key_env or ("GPTPLAY_API_KEY" if os.environ.get("GPTPLAY_API_KEY") else None)
    return Target(url=remote.url, api=api_path(remote.api_path), model=remote.model, key_env=env)


def code(fmt: str, prompt: str, params: SamplingParams, target: Target) -> str:
    """The program text, in ``fmt`` (python or curl), secrets masked."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    if fmt == "curl":
        text = _curl(prompt, params, target)
    elif target.url is None:
        text = _llama_cpp(prompt, params, target)
    else:
        text = _openai(prompt, params, target)
    return redact(text)


def _sampling(params: SamplingParams) -> dict[str, object]:
    """The settings as the OpenAI-style completion APIs name them (seed left out if fresh)."""
    values: dict[str, object] = {
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_k": params.top_k,
        "top_p": params.top_p,
        "min_p": params.min_p,
        "repeat_penalty": params.repeat_penalty,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }
    if params.stop:
        values["stop"] = list(params.stop)
    if params.seed is not None:
        values["seed"] = params.seed
    from gptplay.engine.grammars import output_grammar

    grammar = output_grammar(params)  # choices and a JSON schema as the grammar gptplay runs
    if grammar is not None:
        values["grammar"] = grammar
    if params.logit_bias:
        values["logit_bias"] = _bias(params.logit_bias)
    return values


def _bias(entries: tuple[str, ...]) -> dict[object, float]:
    """--logit-bias as the APIs take it: by token id (a text key stays text: see _llama_cpp)."""
    from gptplay.settings.bias import parse

    return {key: (-100.0 if bias == float("-inf") else bias) for key, bias in parse(entries)}


def _py(value: object) -> str:
    """A Python literal: strings as JSON writes them (valid Python too), the rest by repr."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (str, list)) else repr(value)


def _llama_cpp(prompt: str, params: SamplingParams, t: Target) -> str:
    values = _sampling(params)
    grammar = values.pop("grammar", None)
    bias = values.pop("logit_bias", None)
    load = {"model_path": t.model_path, "n_ctx": t.ctx, "n_threads": t.threads}
    load["n_gpu_layers"] = t.gpu_layers
    lines = [f"# {SAME_TEXT}.", "from llama_cpp import Llama"]
    if grammar is not None:
        lines[-1] += ", LlamaGrammar"
    lines += ["", "llm = Llama("]
    lines += [f"    {k}={_py(v)}," for k, v in load.items() if v is not None]
    lines += ["    verbose=False,", ")", "out = llm.create_completion(", f"    {_py(prompt)},"]
    lines += [f"    {k}={_py(v)}," for k, v in values.items()]
    if grammar is not None:
        lines.append(f"    grammar=LlamaGrammar.from_string({_py(grammar)}, verbose=False),")
    if bias:  # a text key is its one token's id in this model's vocabulary
        lines.append("    logit_bias={")
        for key, value in bias.items():
            tid = (
                str(key)
                if isinstance(key, int)
                else f"llm.tokenize({_py(key)}.encode(), add_bos=False, special=True)[0]"
            )
            lines.append(f"        {tid}: {value!r},")
        lines.append("    },")
    lines += [")", 'print(out["choices"][0]["text"])', ""]
    return "\n".join(lines)


def _openai(prompt: str, params: SamplingParams, t: Target) -> str:
    values = _sampling(params)
    standard = ("max_tokens", "temperature", "top_p", "presence_penalty", "frequency_penalty")
    extra = {k: v for k, v in values.items() if k not in (*standard, "stop", "seed")}
    key = f'os.environ.get("{t.key_env}", "none")' if t.key_env else '"none"'
    lines = ["import os", "", "from openai import OpenAI", ""]
    lines.append(f"client = OpenAI(base_url={_py(_base(t))}, api_key={key})")
    lines += ["out = client.completions.create(", f"    model={_py(t.model or 'default')},"]
    lines.append(f"    prompt={_py(prompt)},")
    lines += [f"    {k}={_py(v)}," for k, v in values.items() if k not in extra]
    lines.append(f"    extra_body={extra!r},  # llama.cpp's samplers, beyond OpenAI's")
    lines += [")", "print(out.choices[0].text)", ""]
    return "\n".join(lines)


def _curl(prompt: str, params: SamplingParams, t: Target) -> str:
    body = {"prompt": prompt, **_sampling(params)}
    if t.model:
        body = {"model": t.model, **body}
    lines = []
    if t.url is None:
        server = f"llama-server -m {shlex.quote(t.model_path or 'MODEL.gguf')}"
        ctx = f" -c {t.ctx}" if t.ctx else ""
        lines += [f"# first: {server}{ctx} --port {LOCAL_PORT}", f"# {SAME_TEXT}."]
    lines.append(f"curl -s {shlex.quote(_base(t) + '/completions')} \\")
    lines.append("  -H 'Content-Type: application/json' \\")
    if t.key_env:
        lines.append(f'  -H "Authorization: Bearer ${t.key_env}" \\')
    lines.append(f"  -d {shlex.quote(json.dumps(body, ensure_ascii=False))}")
    return "\n".join(lines) + "\n"


def _base(t: Target) -> str:
    """The API's base URL, without credentials."""
    if t.url is None:
        return f"http://127.0.0.1:{LOCAL_PORT}/v1"
    return public_url(t.url).rstrip("/") + t.api
