"""Layers of settings resolved as plain data, the same in every front-end.

built-in default < config.toml < the prompt file's [params] < command-line flags <
edits in the TUI or `/set`. Each layer is a plain mapping of the settings it sets; the
resolved settings remember which layer each value came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gptplay.errors import UsageError
from gptplay.settings.check import SettingError, validate
from gptplay.settings.sampling import SamplingParams
from gptplay.settings.schema import (
    BY_NAME,
    CONFIG,
    CONSTRAINTS,
    DEFAULTS,
    FLAG,
    MODEL_NAMES,
    PROMPT,
    SAMPLING_NAMES,
    SESSION,
    SETTINGS,
)

DEFAULT = "default"
ORDER = (DEFAULT, CONFIG, PROMPT, FLAG, SESSION)


@dataclass(frozen=True)
class Layer:
    """The settings one source sets: ``kind`` is one of ORDER, ``source`` says which one."""

    kind: str
    values: Mapping[str, object]
    source: str = ""
    at: Mapping[str, str] = field(default_factory=dict)  # a setting's own place: "FILE:LINE"

    def origin(self, name: str) -> str:
        """Where a value of this layer came from, in words (for `config show --effective`)."""
        if self.kind == FLAG:
            return f"flag {BY_NAME[name].flag}"
        if self.kind == DEFAULT:
            return f"default ({self.source})" if self.source else DEFAULT
        where = self.at.get(name, self.source)
        return f"{self.kind} {where}" if where else self.kind


@dataclass(frozen=True)
class Resolved:
    """Every setting's value and the layer it came from."""

    values: Mapping[str, object]
    origins: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> object:
        return self.values[name]

    def sampling(self) -> SamplingParams:
        """The engine's sampler settings."""
        return SamplingParams(**{name: self.values[name] for name in SAMPLING_NAMES})

    def model(self) -> dict[str, object]:
        """model, ctx, threads, gpu_layers."""
        return {name: self.values[name] for name in MODEL_NAMES}

    def over(self, layer: Layer) -> Resolved:
        """These settings with one more layer on top (a TUI edit, `/set`)."""
        return resolve([layer], base=self)

    def with_params(self, params: SamplingParams, source: str = "/set") -> Resolved:
        """These settings with a screen's sampling changes (``/set``) on top, as its layer."""
        changed = {n: getattr(params, n) for n in SAMPLING_NAMES}
        changed = {n: v for n, v in changed.items() if v != self.values[n]}
        return self.over(Layer(SESSION, changed, source)) if changed else self

    def as_dict(self, names: Iterable[str] | None = None) -> dict[str, object]:
        """The values as plain JSON-able data (stop as a list), in the table's order."""
        wanted = tuple(names) if names is not None else tuple(s.name for s in SETTINGS)
        return {n: _plain(self.values[n]) for n in wanted}

    def rows(self) -> list[tuple[str, object, str]]:
        """(setting, value, origin) for every setting, in the table's order."""
        return [(s.name, self.values[s.name], self.origins.get(s.name, DEFAULT)) for s in SETTINGS]


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def resolve(layers: Iterable[Layer | None], base: Resolved | None = None) -> Resolved:
    """Merge layers, lowest first, over the built-in defaults (or ``base``); None layers skip.

    Every value is validated again, so a layer built by hand (a test, a screen) cannot
    slip a bad value past the table; the error names the layer's source.
    """
    values = dict(base.values) if base is not None else dict(DEFAULTS)
    origins = dict(base.origins) if base is not None else dict.fromkeys(DEFAULTS, DEFAULT)
    for layer in layers:
        if layer is None:
            continue
        for name, value in layer.values.items():
            if name not in BY_NAME:
                raise UsageError(
                    f"unknown setting '{name}' ({layer.origin(name)})",
                    hint="settings: " + ", ".join(BY_NAME),
                )
            try:
                values[name] = validate(name, value)
            except SettingError as exc:
                if layer.kind == FLAG:
                    exc.message = exc.describe(BY_NAME[name].flag, sep=" ")
                else:
                    exc.message = f"{layer.origin(name)}: {exc.describe(name)}"
                raise
            origins[name] = layer.origin(name)
        _one_constraint(layer, values, origins)
    return Resolved(MappingProxyType(values), MappingProxyType(origins))


def _one_constraint(layer: Layer, values: dict, origins: dict) -> None:
    """A layer that sets one constraint (grammar, choices) replaces a lower layer's other."""
    given = [n for n in CONSTRAINTS if layer.values.get(n) not in (None, ())]
    if len(given) > 1:
        a, b = (BY_NAME[n].flag if layer.kind == FLAG else n for n in given[:2])
        raise UsageError(
            f"{a} and {b} cannot be combined ({layer.source or layer.kind}).",
            hint=f'keep one: {BY_NAME["choices"].flag} A,B is the grammar root ::= "A" | "B".',
        )
    for name in CONSTRAINTS if given else ():
        if name not in given and values[name] not in (None, ()):
            values[name] = DEFAULTS[name]
            origins[name] = f"replaced by {given[0]} ({layer.origin(given[0])})"


def prompt_layer(params: Mapping[str, object], stop: Iterable[str] = (), source: str = "") -> Layer:
    """A prompt file's [params] and its stop sequences (none given: the lower layers' stop)."""
    values = dict(params)
    stop = tuple(stop)
    if stop:
        values["stop"] = stop
    return Layer(PROMPT, MappingProxyType(values), source)


def default_layer(values: Mapping[str, object], why: str) -> Layer:
    """A front-end's own default (the TUI's thread count), just above the built-in one."""
    return Layer(DEFAULT, MappingProxyType(dict(values)), why)


def stack(*layers: Layer | None) -> tuple[Layer, ...]:
    """The layers in precedence order, whatever order they were given in."""
    present = [layer for layer in layers if layer is not None]
    return tuple(sorted(present, key=lambda layer: ORDER.index(layer.kind)))


@dataclass(frozen=True)
class SettingsStack:
    """A long-lived front-end's layers (the TUI's) apart from the prompt it has open."""

    defaults: Layer | None = None
    config: Layer | None = None
    flags: Layer | None = None

    def resolve(self, prompt: Layer | None = None, session: Layer | None = None) -> Resolved:
        """default < defaults < config < ``prompt`` < flags < ``session`` (the screen's edits)."""
        return resolve(stack(self.defaults, self.config, prompt, self.flags, session))
