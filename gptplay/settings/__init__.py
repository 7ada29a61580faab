"""Every generation and model setting, defined once (``schema``), validated once (``check``)
and resolved as plain data in layers (``layers``): default < config.toml < a prompt's
[params] < command-line flags < TUI edits or `/set`.
"""

from gptplay.settings.check import SettingError, parse_text, unescape, validate
from gptplay.settings.layers import (
    Layer,
    Resolved,
    SettingsStack,
    default_layer,
    prompt_layer,
    resolve,
    stack,
)
from gptplay.settings.sampling import SamplingParams
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
    "SamplingParams",
    "Setting",
    "SettingsStack",
    "SettingError",
    "default_layer",
    "names_for",
    "parse_text",
    "prompt_layer",
    "resolve",
    "setting",
    "stack",
    "unescape",
    "validate",
]
