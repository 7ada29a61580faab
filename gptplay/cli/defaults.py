"""Precedence of settings (flag > config.toml > built-in default) and the GPU offload notice."""

from __future__ import annotations

from collections.abc import Callable

from gptplay.engine.offload import Offload, reinstall_command

_GIVEN = {"COMMANDLINE", "ENVIRONMENT", "PROMPT"}


def current_context():
    """The running command's context: Typer's own click copy (Typer >= 0.2x) or click's."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # older Typer runs on click itself
        from click import get_current_context
    return get_current_context(silent=True)


def flag_given(flag: str) -> bool:
    """Whether the running command received ``flag`` from its user (False outside a command)."""
    ctx = current_context()
    if ctx is None:
        return False
    for param in ctx.command.params:
        if flag in param.opts:
            source = ctx.get_parameter_source(param.name)
            return source is not None and source.name in _GIVEN
    return False


def flag_default(flag: str, fallback: object) -> object:
    """The running command's own default for ``flag``, else ``fallback``."""
    ctx = current_context()
    for param in ctx.command.params if ctx else ():
        if flag in param.opts:
            return param.default
    return fallback


def pick(flag: str, value: object, builtin: object, configured: object) -> object:
    """The config's value where the caller passed the built-in default and no flag was given."""
    if configured is None or flag_given(flag):
        return value
    default = flag_default(flag, builtin)
    if isinstance(default, list):
        default = default or None
    return configured if value == default else value


class Once:
    """Remembers which messages were already shown in this process."""

    def __init__(self) -> None:
        self.shown: set[str] = set()

    def first(self, key: str) -> bool:
        """True the first time ``key`` is seen."""
        if key in self.shown:
            return False
        self.shown.add(key)
        return True


OFFLOAD_WARNINGS = Once()


def offload_message(offload: Offload, asked: str | None = None) -> tuple[str, bool] | None:
    """What to tell the user about a load's GPU offload, and whether it is a warning."""
    asked = asked or f"--gpu-layers {offload.requested}"
    if not offload.wanted:
        return None
    if not offload.supported:
        return (
            f"{asked} asks for GPU offload, but this llama-cpp-python "
            "build cannot offload (llama_supports_gpu_offload() is false: no GPU backend or no "
            "GPU found), so the model runs on the CPU. To build it with CUDA:\n"
            f"  {reinstall_command()}",
            True,
        )
    return f"offloaded {offload.offloaded}/{offload.total} layers to the GPU", False


def report_offload(
    offload: Offload,
    notify: Callable[[str, bool], None],
    once: Once = OFFLOAD_WARNINGS,
    asked: str | None = None,
) -> None:
    """Say how many layers went to the GPU; the can't-offload warning only once per process."""
    found = offload_message(offload, asked)
    if found is None:
        return
    text, warning = found
    if warning and not once.first("no-gpu-offload"):
        return
    notify(text, warning)


def print_notice(text: str, warning: bool) -> None:
    """Print a load notice on standard error."""
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True, highlight=False)
    if warning:
        err.print(f"[bold yellow]warning:[/] {escape(text)}", soft_wrap=True)
    else:
        err.print(f"[dim]{escape(text)}[/]", soft_wrap=True)
