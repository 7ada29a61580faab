"""Where gptplay keeps user files; environment variables override so tests never touch them."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """The user's config directory (config.toml, prompts/)."""
    env = os.environ.get("GPTPLAY_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir("gptplay"))


def cache_dir() -> Path:
    """The user's cache directory (the assembled embedded model)."""
    env = os.environ.get("GPTPLAY_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("gptplay"))


def data_dir() -> Path:
    """The user's data directory (history.db); GPTPLAY_DATA_DIR overrides it."""
    env = os.environ.get("GPTPLAY_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("gptplay"))
