"""GPU offload: whether this llama-cpp-python build can offload, and how much a load did."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Offload:
    """What a load asked of the GPU and what it got, in llama.cpp's layer count."""

    requested: int  # --gpu-layers: 0 none, -1 all
    supported: bool  # llama_supports_gpu_offload()
    offloaded: int  # layers placed on the GPU
    total: int  # the model's repeating layers plus the output layer, as llama.cpp counts

    @property
    def wanted(self) -> bool:
        return self.requested != 0


def gpu_offload_supported() -> bool:
    """Whether this llama-cpp-python build has a GPU backend with a device it can use."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def plan(requested: int, n_layer: int, supported: bool) -> Offload:
    """llama.cpp's arithmetic: min(n_gpu_layers, n_layer + 1) layers, -1 meaning all of them."""
    total = n_layer + 1
    if not supported or requested == 0:
        return Offload(requested, supported, 0, total)
    wanted = total if requested < 0 else requested
    return Offload(requested, supported, min(wanted, total), total)


def offload_of(engine) -> Offload | None:
    """The offload a loaded engine got, as it reports it (None: an engine without a GPU)."""
    info = getattr(engine, "offload_info", None)
    return info() if info is not None else None


def reinstall_command() -> str:
    """The command that rebuilds this llama-cpp-python version with CUDA."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        pinned = f"llama-cpp-python=={version('llama-cpp-python')}"
    except PackageNotFoundError:
        pinned = "llama-cpp-python"
    return f'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir {pinned}'
