"""`--print-code` and `--print-curl`: the call that reproduces a run, printed instead of run."""

from __future__ import annotations

from typing import Annotated

import typer

PANEL = "Output"

PrintCodeOpt = Annotated[
    bool,
    typer.Option(
        "--print-code",
        help="Print the Python that reproduces this prompt and these settings "
        "(llama-cpp-python, or the OpenAI client for a server --model) and run nothing.",
        rich_help_panel=PANEL,
    ),
]
PrintCurlOpt = Annotated[
    bool,
    typer.Option(
        "--print-curl",
        help="Print the same as a curl call to an OpenAI-compatible server and run nothing.",
        rich_help_panel=PANEL,
    ),
]


def print_code(python: bool, curl: bool, prompt: str, settings) -> bool:
    """Print the asked-for code (no model is loaded); False when none was asked for."""
    if not (python or curl):
        return False
    from gptplay.codegen import code, target_of

    target = target_of(settings)
    params = settings.sampling()
    texts = ([code("python", prompt, params, target)] if python else []) + (
        [code("curl", prompt, params, target)] if curl else []
    )
    print("\n".join(texts), end="")
    return True
