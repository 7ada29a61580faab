"""The GPU offload notice at model load, shown once per process when offload cannot happen."""

from __future__ import annotations

from collections.abc import Callable

from gptplay.engine.offload import Offload, reinstall_command


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

    from gptplay.render import shown

    text = shown(text)
    err = Console(stderr=True, highlight=False)
    if warning:
        err.print(f"[bold yellow]warning:[/] {escape(text)}", soft_wrap=True)
    else:
        err.print(f"[dim]{escape(text)}[/]", soft_wrap=True)
