"""GGUF models on the Hugging Face Hub: the local Hub cache, choosing a file, downloading.

``huggingface_hub`` is imported only to download or to scan the cache for a listing;
finding a cached file walks the cache layout it writes (models--OWNER--REPO/refs/main,
snapshots/<revision>/FILE), so resolving a cached model costs no import and no network.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gptplay.errors import ModelError

HUB_NAME = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*)(?::(?P<sel>.+))?$")
SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
QUANT = re.compile(
    r"(?<![A-Za-z0-9])((?:UD-)?I?Q\d(?:_[A-Z0-9]+)*|[BM]?F(?:16|32)|MXFP4|TQ\d_0)(?![A-Za-z0-9])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class HubName:
    """``OWNER/REPO[:FILE_OR_QUANT]`` taken apart."""

    repo: str
    selector: str | None = None

    def __str__(self) -> str:
        return f"{self.repo}:{self.selector}" if self.selector else self.repo


@dataclass(frozen=True)
class Choice:
    """One model in a repo: a GGUF file, or the parts of a split GGUF (first part first)."""

    files: tuple[str, ...]

    @property
    def file(self) -> str:
        return self.files[0]

    @property
    def quant(self) -> str | None:
        return quant_label(self.file)

    def describe(self) -> str:
        parts = f" ({len(self.files)} parts)" if len(self.files) > 1 else ""
        return f"{self.file}{parts}"


def parse_hub_name(name: str) -> HubName | None:
    """``OWNER/REPO[:FILE_OR_QUANT]``, or None when the name is not of that form."""
    m = HUB_NAME.match(name)
    if not m:
        return None
    return HubName(m.group("repo"), m.group("sel") or None)


def quant_label(filename: str) -> str | None:
    """The quantization named in a GGUF file name (``Q4_K_M``), if any."""
    stem = SPLIT.sub("", Path(filename).name)
    stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
    found = QUANT.findall(stem)
    return found[-1].upper() if found else None


def hub_cache_dir() -> Path:
    """The Hub cache huggingface_hub uses, read from the environment at call time."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(xdg).expanduser() / "huggingface" / "hub"


def hub_offline() -> bool:
    """Whether HF_HUB_OFFLINE forbids the network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def group_choices(files: list[str]) -> list[Choice]:
    """GGUF files grouped into models: the parts of a split GGUF make one choice."""
    groups: dict[str, list[str]] = {}
    for f in sorted(files):
        if not f.lower().endswith(".gguf") or Path(f).name.lower().startswith("mmproj"):
            continue  # vision projectors are not language models on their own
        groups.setdefault(SPLIT.sub("", f), []).append(f)
    return [Choice(tuple(parts)) for parts in groups.values()]


def select(choices: list[Choice], selector: str | None, repo: str) -> Choice:
    """The one choice a selector names (a file, a glob or a quant); ModelError lists the rest."""
    if not choices:
        raise ModelError(f"{repo} holds no .gguf files.", hint="choose a repo with GGUF files.")
    if selector is None:
        if len(choices) == 1:
            return choices[0]
        raise _choose_one(repo, choices, f"{repo} holds {len(choices)} GGUF models")
    matches = [c for c in choices if _matches(c, selector)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise _choose_one(repo, choices, f"No GGUF in {repo} matches {selector!r}")
    raise _choose_one(repo, matches, f"{selector!r} matches {len(matches)} GGUF models in {repo}")


def _matches(choice: Choice, selector: str) -> bool:
    if any(ch in selector for ch in "*?[") or selector.lower().endswith(".gguf"):
        # a whole file name or glob ("*Q4_K_M.gguf"); a glob on a part of it ("Q4_K*") floats
        pattern = selector.lower()
        if not pattern.endswith(".gguf"):
            pattern = f"*{pattern}*"
        names = [n.lower() for f in choice.files for n in (f, Path(f).name)]
        return any(fnmatch.fnmatchcase(n, pattern) for n in names)
    token = re.compile(rf"(?<![A-Za-z0-9]){re.escape(selector)}(?![A-Za-z0-9_])", re.IGNORECASE)
    return bool(token.search(Path(SPLIT.sub("", choice.file)).name.removesuffix(".gguf")))


def _choose_one(repo: str, choices: list[Choice], message: str) -> ModelError:
    lines = "; ".join(c.describe() for c in choices[:20])
    more = f" and {len(choices) - 20} more" if len(choices) > 20 else ""
    example = choices[0].quant or choices[0].file
    return ModelError(
        f"{message}: {lines}{more}.",
        hint=f"name one: {repo}:{example} (or `gptplay models pull {repo} --quant {example}`).",
    )


def repo_folder(repo: str, cache: Path, kind: str = "models") -> Path:
    return cache / (f"{kind}--" + repo.replace("/", "--"))


def cached_snapshot(repo: str, cache: Path, kind: str = "models") -> Path | None:
    """The snapshot folder refs/main points to, else the newest one; None if not cached."""
    folder = repo_folder(repo, cache, kind)
    snapshots = folder / "snapshots"
    ref = folder / "refs" / "main"
    if ref.is_file():
        snap = snapshots / ref.read_text().strip()
        if snap.is_dir():
            return snap
    if not snapshots.is_dir():
        return None
    candidates = [p for p in snapshots.iterdir() if p.is_dir()]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def cached_files(snapshot: Path) -> list[str]:
    """GGUF files present in a snapshot (broken links left out), relative to it."""
    return sorted(
        p.relative_to(snapshot).as_posix()
        for p in snapshot.rglob("*.gguf")
        if p.is_file()  # follows the symlink into blobs/: a missing blob is not a cached file
    )


def cached_repos(cache: Path) -> list[str]:
    """The model repos in the Hub cache that hold at least one GGUF file."""
    if not cache.is_dir():
        return []
    repos = []
    for folder in sorted(cache.glob("models--*--*")):
        repo = folder.name.removeprefix("models--").replace("--", "/", 1)
        snap = cached_snapshot(repo, cache)
        if snap and group_choices(cached_files(snap)):
            repos.append(repo)
    return repos


def resolve_hub(name: HubName) -> Path:
    """The local path of a Hub GGUF: from the cache if it is there, else downloaded."""
    cache = hub_cache_dir()
    snap = cached_snapshot(name.repo, cache)
    choices = group_choices(cached_files(snap)) if snap else []
    if choices:
        try:
            return snap / select(choices, name.selector, name.repo).file
        except ModelError:
            if hub_offline():
                raise
    if hub_offline():
        raise ModelError(
            f"{name} is not in the Hugging Face cache ({cache}), and HF_HUB_OFFLINE is set, "
            "so it cannot be downloaded.",
            hint=f"unset HF_HUB_OFFLINE and run `gptplay models pull {name.repo}`, "
            "or point HF_HUB_CACHE at the cache that holds it.",
        )
    return download(name)


def download(name: HubName, selector: str | None = None) -> Path:
    """Download (or resume) the GGUF a name selects, with huggingface_hub's progress bars."""
    cache = hub_cache_dir()
    check_reachable(name)
    try:
        from huggingface_hub import HfApi, hf_hub_download

        files = HfApi().list_repo_files(name.repo)
        choice = select(group_choices(files), selector or name.selector, name.repo)
        paths = [Path(hf_hub_download(name.repo, f, cache_dir=str(cache))) for f in choice.files]
    except ModelError:
        raise
    except Exception as exc:  # huggingface_hub's HTTP, offline and not-found errors
        raise _hub_error(name, exc) from None
    return paths[0]


def endpoint_host() -> str:
    """The Hub's host name (HF_ENDPOINT overrides huggingface.co, as huggingface_hub does)."""
    from urllib.parse import urlparse

    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    return urlparse(endpoint).hostname or endpoint


def check_reachable(name: HubName) -> None:
    """Fail at once when the Hub's name does not resolve, instead of after ~25 s of retries."""
    import socket

    host = endpoint_host()
    try:
        socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ModelError(
            f"Could not download {name}: {host} cannot be reached ({exc.strerror or exc}); "
            "this machine looks offline.",
            hint="connect to the network, or pick a model already here (`gptplay models list`).",
        ) from None


def _hub_error(name: HubName, exc: Exception) -> ModelError:
    kind = type(exc).__name__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else kind
    if "RepositoryNotFound" in kind:
        return ModelError(
            f"{name.repo} is not a model repo on the Hugging Face Hub (or it is private).",
            hint="check the spelling; for a private or gated repo, log in with `hf auth login`.",
        )
    if "Gated" in kind:
        return ModelError(
            f"{name.repo} is gated: accept its licence on huggingface.co first.",
            hint="then log in with `hf auth login` and pull again.",
        )
    return ModelError(
        f"Could not download {name} from the Hugging Face Hub: {first} ({kind}).",
        hint="check the network; an interrupted download resumes when you pull again.",
    )
