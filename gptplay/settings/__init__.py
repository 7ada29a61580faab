"""Every generation and model setting, defined once (``schema``), validated once (``check``)
and resolved as plain data in layers (``layers``): default < config.toml < a prompt's
[params] < command-line flags < TUI edits or `/set`.
"""

from gptplay.settings.check import SettingError, parse_text, validate
from gptplay.settings.layers import (
    Layer,
    Resolved,
    SettingsStack,
    config_layer,
    default_layer,
    prompt_layer,
    resolve,
    stack,
)
from gptplay.settings.schema import (
    BY_NAME,
    DEFAULTS,
    MODEL_NAMES,
    SAMPLING_NAMES,
    SETTINGS,
    Setting,
    names_for,
    setting,
)

__all__ = [
    "BY_NAME",
    "DEFAULTS",
    "MODEL_NAMES",
    "SAMPLING_NAMES",
    "SETTINGS",
    "Layer",
    "Resolved",
    "Setting",
    "SettingsStack",
    "SettingError",
    "config_layer",
    "default_layer",
    "names_for",
    "parse_text",
    "prompt_layer",
    "resolve",
    "setting",
    "stack",
    "validate",
]
