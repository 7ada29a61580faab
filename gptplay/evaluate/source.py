"""Where evaluation data comes from: a local file, or a dataset file on the Hugging Face Hub.

``OWNER/NAME[:FILE_OR_SPLIT]`` is looked up in the Hub cache first (its layout:
datasets--OWNER--NAME/refs/main, snapshots/<revision>/FILE), so a cached dataset needs
no network and no import of huggingface_hub.
"""

from __future__ import annotations

import re
from pathlib import Path

from gptplay.evaluate.data import DataError
from gptplay.hub import HubName, cached_snapshot, hub_cache_dir, hub_offline, parse_hub_name

READABLE = (".jsonl", ".json", ".csv", ".tsv")


def resolve_data(source: str) -> Path:
    """A local path for ``--data``: the file itself, or a Hub dataset file (cached or fetched)."""
    path = Path(source).expanduser()
    if path.exists():
        return path
    name = parse_hub_name(source)
    if name is None or name.repo.lower().endswith(READABLE):
        raise DataError(
            f"{source}: no such file.",
            hint="give a .jsonl or .csv file, or a Hub dataset as OWNER/NAME[:FILE_OR_SPLIT].",
        )
    return resolve_hub_data(name)


def resolve_hub_data(name: HubName) -> Path:
    """The local path of a Hub dataset file: from the cache if there, else downloaded."""
    cache = hub_cache_dir()
    # datasets live beside models in the same cache, under a "datasets--" folder
    snap = cached_snapshot(name.repo, cache, kind="datasets")
    if snap is not None:
        files = sorted(p.relative_to(snap).as_posix() for p in snap.rglob("*") if p.is_file())
        try:
            return snap / pick_file(files, name)
        except DataError:
            if hub_offline():
                raise
    if hub_offline():
        raise DataError(
            f"dataset {name} is not in the Hugging Face cache ({cache}), and HF_HUB_OFFLINE "
            "is set, so it cannot be downloaded.",
            hint="unset HF_HUB_OFFLINE, or point HF_HUB_CACHE at the cache that holds it.",
        )
    return _download(name, cache)


def pick_file(files: list[str], name: HubName) -> str:
    """The one readable file a selector names: a path in the repo, or a split such as 'test'."""
    readable = [f for f in files if f.lower().endswith(READABLE)]
    sel = name.selector
    if sel is None:
        matches = readable
    elif sel in files:
        matches = [sel]
    else:
        token = re.compile(rf"(?<![A-Za-z0-9]){re.escape(sel)}(?![A-Za-z0-9])", re.IGNORECASE)
        matches = [f for f in readable if token.search(f)]
    if len(matches) == 1 and matches[0].lower().endswith(READABLE):
        return matches[0]
    listing = "; ".join(readable[:12]) or "none"
    if not readable and files:
        raise DataError(
            f"dataset {name.repo} holds no .jsonl or .csv files (it has: {'; '.join(files[:6])}).",
            hint="gptplay reads JSON Lines and CSV; convert the file, then pass it with --data.",
        )
    which = f"{len(matches)} of them match {sel!r}" if sel else "name one"
    raise DataError(
        f"dataset {name.repo} holds {len(readable)} .jsonl/.csv files ({listing}); {which}.",
        hint=f"like --data {name.repo}:{readable[0] if readable else 'FILE'}",
    )


def _download(name: HubName, cache: Path) -> Path:
    try:
        from huggingface_hub import HfApi, hf_hub_download

        files = HfApi().list_repo_files(name.repo, repo_type="dataset")
        chosen = pick_file(files, name)
        return Path(hf_hub_download(name.repo, chosen, repo_type="dataset", cache_dir=str(cache)))
    except DataError:
        raise
    except Exception as exc:  # huggingface_hub's HTTP, offline and not-found errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not fetch dataset {name} from the Hugging Face Hub: {first}.",
            hint="check the name and the network, or download the file and pass its path.",
        ) from None
