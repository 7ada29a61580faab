"""The sampler's settings as one frozen value, built from the settings table's defaults."""

from __future__ import annotations

from dataclasses import dataclass

from gptplay.errors import UsageError
from gptplay.settings.check import SettingError, validate
from gptplay.settings.schema import DEFAULTS, SAMPLING_NAMES, setting


@dataclass(frozen=True)
class SamplingParams:
    """Sampler settings; the defaults (llama.cpp's) and ranges are gptplay.settings' table."""

    temperature: float = DEFAULTS["temperature"]  # 0 means greedy
    top_k: int = DEFAULTS["top_k"]
    top_p: float = DEFAULTS["top_p"]
    min_p: float = DEFAULTS["min_p"]
    repeat_penalty: float = DEFAULTS["repeat_penalty"]
    presence_penalty: float = DEFAULTS["presence_penalty"]
    frequency_penalty: float = DEFAULTS["frequency_penalty"]
    max_tokens: int = DEFAULTS["max_tokens"]
    stop: tuple[str, ...] = DEFAULTS["stop"]
    seed: int | None = DEFAULTS["seed"]
    grammar: str | None = DEFAULTS["grammar"]  # GBNF text
    json_schema: str | None = DEFAULTS["json_schema"]  # JSON text (the engine converts it)
    choices: tuple[str, ...] = DEFAULTS["choices"]
    logit_bias: tuple[str, ...] = DEFAULTS["logit_bias"]  # TEXT_OR_ID=BIAS entries

    def constraint(self) -> str | None:
        """The GBNF grammar the output must match (from grammar or choices), or None.

        A json_schema is converted by the engine (gptplay.engine.grammars), which has
        llama-cpp-python's converter.
        """
        given = [n for n in ("grammar", "json_schema", "choices") if getattr(self, n)]
        if len(given) > 1:
            raise UsageError(
                f"{' and '.join(setting(n).flag for n in given)} cannot be combined.",
                hint="keep one: each constrains the whole output.",
            )
        if self.choices:
            from gptplay.settings.gbnf import choices_grammar

            return choices_grammar(self.choices)
        return self.grammar

    def validate(self) -> None:
        """Raise UsageError naming the option (``--top-p``) whose value is out of range."""
        for name in SAMPLING_NAMES:
            try:
                validate(name, getattr(self, name))
            except SettingError as exc:
                exc.message = exc.describe(setting(name).flag, sep=" ") + "."
                raise
