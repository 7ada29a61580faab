"""Every path gptplay asks a model server for, in one place.

llama-server's native API sits at the server's root; the OpenAI-compatible API under a base
path that is ``/v1`` on llama-server, vLLM and llama-cpp-python's server, and may be another
(``api_path = "/api/v1"`` on an alias) behind a proxy or on other servers.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_PATH = "/v1"


@dataclass(frozen=True)
class Endpoints:
    """The paths of one server; ``api`` is the OpenAI-compatible API's base path."""

    api: str = DEFAULT_API_PATH
    # llama-server's native API
    props: str = "/props"
    completion: str = "/completion"
    tokenize: str = "/tokenize"  # also vLLM's
    detokenize: str = "/detokenize"  # also vLLM's
    apply_template: str = "/apply-template"
    # vLLM's version probe; llama-cpp-python's tokenizer
    version: str = "/version"
    extras_tokenize: str = "/extras/tokenize"
    extras_detokenize: str = "/extras/detokenize"

    @property
    def models(self) -> str:
        return f"{self.api}/models"

    @property
    def completions(self) -> str:
        return f"{self.api}/completions"


def api_path(value: str | None) -> str:
    """A base path as written (``/api/v1``, ``api/v1/``, ``""`` for the root) in one form."""
    if value is None:
        return DEFAULT_API_PATH
    value = value.strip().strip("/")
    return f"/{value}" if value else ""
