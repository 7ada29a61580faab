"""The status line: state, tokens, speed, first-token latency, context used, seed."""

from __future__ import annotations

from rich.text import Text

from gptplay.engine.types import Completion
from gptplay.render import plural, rate


def status_text(
    state: str,
    completion: Completion | None,
    tokens: int,
    prompt_tokens: int,
    n_ctx: int | None,
    branches: int,
) -> Text:
    """One line; the figures of the last finished run, the live token count while streaming."""
    text = Text(f" {state}", style="bold")
    parts = [plural(tokens, "token")]
    if completion is not None:
        ttft = completion.time_to_first_token_s
        parts.append(rate(completion))
        parts.append("first token –" if ttft is None else f"first token {ttft:.2f} s")
    if n_ctx:
        parts.append(f"context {prompt_tokens + tokens}/{n_ctx}")
    if completion is not None:
        parts.append(f"finish: {completion.finish_reason}")
        parts.append(f"seed {completion.seed}")
        parts += constraint_parts(completion)
    if branches:
        parts.append(f"branch {branches + 1} (Ctrl+B back)")
    text.append("".join(f" · {part}" for part in parts), style="dim")
    return text


def constraint_parts(c: Completion) -> list[str]:
    """'grammar complete' or 'grammar incomplete', and 'JSON valid' or 'JSON invalid'."""
    parts = []
    if c.complete is not None:
        parts.append("grammar complete" if c.complete else "grammar incomplete")
    if c.schema_valid is not None:
        parts.append("JSON valid" if c.schema_valid else "JSON invalid")
    return parts
