"""The user's config.toml: default model, aliases, hardware and sampling defaults.

Validated strictly (errors name file:line:col and how to fix them); written atomically
with tomlkit so the user's comments and layout survive a change of one value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from gptplay.errors import GptplayError
from gptplay.fileio import atomic_write, locked
from gptplay.paths import config_dir
from gptplay.settings import BY_NAME, MODEL_NAMES, Layer, SettingError, names_for, validate
from gptplay.settings.schema import CONFIG, MODEL
from gptplay.settings.schema import SAMPLING as SAMPLING_GROUP

CONFIG_NAME = "config.toml"


def _template() -> str:
    """The commented config a new user starts from: every setting of the table, commented out."""
    import json

    def line(name: str) -> str:
        s = BY_NAME[name]
        value = s.example if s.example is not None else s.default
        shown = json.dumps(list(value) if isinstance(value, tuple) else value)
        return f"# {name} = {shown}".ljust(26) + f"# {s.help}"

    top = [line(n) for n in names_for(CONFIG, MODEL) if n != "model"]
    sampling = [line(n) for n in names_for(CONFIG, SAMPLING_GROUP)]
    return "\n".join([
        "# gptplay configuration. Flags override these values; these override the built-in "
        "defaults.",
        "# Check it with `gptplay config show --effective`; edit it with `gptplay config edit`.",
        "",
        "# The model used when --model is not given: a .gguf path, \"default\" (the embedded",
        "# Gemma 3 270M), an alias below, or OWNER/REPO[:FILE_OR_QUANT] from the Hugging Face Hub.",
        '# model = "default"',
        "",
        *top,
        '# model_dirs = ["~/models"]   # folders of .gguf files shown by `gptplay models list`',
        "# history = false         # record no run (`gptplay history` lists them)",
        "",
        "[aliases]",
        '# gemma-it = "unsloth/gemma-3-270m-it-GGUF:Q4_K_M"',
        "",
        "[sampling]",
        *sampling,
        "",
    ])  # fmt: skip


TEMPLATE = _template()


def _str(v: object) -> bool:
    return isinstance(v, str) and v.strip() != ""


# config.toml's keys: the settings table's model settings at the top, its sampling
# settings in [sampling] (gptplay.settings), plus what only the config has.
TOP: tuple[str, ...] = (*names_for(CONFIG, MODEL), "model_dirs", "history")
SAMPLING: tuple[str, ...] = names_for(CONFIG, SAMPLING_GROUP)
TABLES = ("aliases", "sampling")
ALIAS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ConfigError(GptplayError):
    """A config file that does not parse or holds a value out of place."""


@dataclass(frozen=True)
class Config:
    """The validated settings; None where the file does not set a value."""

    path: Path | None = None
    model: str | None = None
    ctx: int | None = None
    threads: int | None = None
    gpu_layers: int | None = None
    model_dirs: tuple[Path, ...] = ()
    history: bool | None = None  # false: record no run in the history
    aliases: dict[str, str | dict] = field(default_factory=dict)  # a dict: a model server
    sampling: dict[str, object] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict, compare=False)  # setting -> its line


def config_path() -> Path:
    """Where the config file lives (it may not exist yet)."""
    return config_dir() / CONFIG_NAME


def load_config(path: Path | None = None) -> Config:
    """Read and validate the config file; an absent file is an empty config."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc}).") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate config text; ConfigError names file:line:col, the key and the rule."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    try:
        data = tomlkit.parse(text).unwrap()
    except ParseError as exc:
        raise ConfigError(
            f"{path}:{exc.line}:{exc.col}: not valid TOML: {_parse_reason(exc)}.",
            hint="fix the syntax there (strings need quotes; lists use [ ... ]).",
        ) from None
    where = _Locator(text, path)
    values: dict[str, object] = {}
    for key, value in data.items():
        if key in TABLES:
            if not isinstance(value, dict):
                raise where.error(
                    "", key, f"'{key}' must be a table: write [{key}] on its own line"
                )
            continue
        if key not in TOP:
            raise where.error("", key, f"unknown setting '{key}'", _known(list(TOP) + list(TABLES)))
        values[key] = _checked(where, "", key, value)
    sampling = {}
    for key, value in data.get("sampling", {}).items():
        if key not in SAMPLING:
            raise where.error(
                "sampling", key, f"unknown sampling setting '{key}'", _known(SAMPLING)
            )
        sampling[key] = _checked(where, "sampling", key, value)
    aliases = {}
    for name, value in data.get("aliases", {}).items():
        if not ALIAS_NAME.match(name) or name == "default":
            raise where.error(
                "aliases", name, f"alias name {name!r} is not allowed",
                "use letters, digits, '-', '_' or '.', no '/' or ':', and not 'default'",
            )  # fmt: skip
        if isinstance(value, dict):  # a model server: {url, model, api_key_env, timeout}
            aliases[name] = _remote_alias(where, name, value)
            continue
        if not _str(value):
            raise where.error("aliases", name, f"alias '{name}' must name a model (a string)")
        aliases[name] = value
    dirs = tuple(Path(d).expanduser() for d in values.pop("model_dirs", []))
    lines = {key: where.find("", key)[0] for key in values}
    lines.update({key: where.find("sampling", key)[0] for key in sampling})
    return Config(path, model_dirs=dirs, aliases=aliases, sampling=sampling, lines=lines, **values)


def _checked(where: _Locator, table: str, key: str, value) -> object:
    """The value checked by the settings table (model_dirs: a list of folder names)."""
    label = f"{table}.{key}" if table else key
    if key == "history":
        if not isinstance(value, bool):
            raise where.error(table, key, f"{label} must be true or false, not {value!r}")
        return value
    if key == "model_dirs":
        if not (isinstance(value, list) and all(_str(v) for v in value)):
            raise where.error(table, key, f"{label} must be a list of non-empty strings")
        return tuple(value)
    try:
        return validate(key, value)
    except SettingError as exc:
        raise where.error(table, key, exc.describe(label)) from None


def _known(keys) -> str:
    return "known settings: " + ", ".join(keys)


def _parse_reason(exc) -> str:
    """tomlkit's message without its own ' at line X col Y' suffix."""
    return re.sub(r"\s+at line \d+ col \d+$", "", str(exc))


class _Locator:
    """Finds the line and column of a key in the config text, for error messages."""

    def __init__(self, text: str, path: Path) -> None:
        self.lines = text.splitlines()
        self.path = path

    def find(self, table: str, key: str) -> tuple[int, int]:
        current = ""
        header = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
        pattern = re.compile(
            rf"^(\s*)(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]"
        )
        dotted = (
            re.compile(rf"^(\s*){re.escape(table)}\s*\.\s*{re.escape(key)}\s*=") if table else None
        )
        for i, line in enumerate(self.lines, 1):
            m = header.match(line)
            if m:
                current = m.group(1).strip("\"'")
                if current == key and not table:
                    return i, len(line) - len(line.lstrip()) + 1
                continue
            if current == table and (m := pattern.match(line)):
                return i, len(m.group(1)) + 1
            if dotted and current == "" and (m := dotted.match(line)):
                return i, len(m.group(1)) + 1
        return 1, 1

    def error(self, table: str, key: str, message: str, hint: str | None = None) -> ConfigError:
        line, col = self.find(table, key)
        return ConfigError(
            f"{self.path}:{line}:{col}: {message}.",
            hint=hint or "fix it with `gptplay config edit` (or remove the line).",
        )


def write_value(dotted_key: str, value: object, path: Path | None = None) -> Config:
    """Set one value (``sampling.temperature``, ``aliases.NAME``), keeping comments; atomic."""
    path = path or config_path()
    with locked(path):  # two `config set` at once: each sees the other's change
        return _write_value(dotted_key, value, path)


def _write_value(dotted_key: str, value: object, path: Path) -> Config:
    import tomlkit

    text = path.read_text(encoding="utf-8") if path.exists() else TEMPLATE
    parse_config(text, path)  # refuse to rewrite a file that is already broken
    doc = tomlkit.parse(text)
    table, _, key = dotted_key.rpartition(".")
    target = doc
    if table:
        if table not in doc:
            doc[table] = tomlkit.table()
        target = doc[table]
    target[key] = value
    new_text = tomlkit.dumps(doc).rstrip("\n") + "\n"
    try:
        config = parse_config(new_text, path)
    except ConfigError as exc:
        reason = re.sub(r"^.*?:\d+:\d+: ", "", exc.message)
        raise ConfigError(f"{path} was not changed: {reason}", hint=exc.hint) from None
    atomic_write(path, new_text)
    return config


REMOTE_KEYS = {
    "url": str,
    "model": str,
    "api_key_env": str,
    "timeout": (int, float),
    "api_path": str,
}


def _remote_alias(where, name: str, value: dict) -> dict:
    """A remote alias table: url = 'http://HOST:PORT', optional model, api_key_env, timeout."""
    for key, item in value.items():
        kind = REMOTE_KEYS.get(key)
        if kind is None or not isinstance(item, kind) or isinstance(item, bool):
            raise where.error(
                "aliases", name, f"alias '{name}': {key} = {item!r} is not allowed",
                "a server alias is {url = 'http://HOST:PORT', model = 'NAME', "
                "api_key_env = 'ENV_VAR', timeout = SECONDS, api_path = '/v1'}",
            )  # fmt: skip
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise where.error(
            "aliases", name, f"alias '{name}' needs url = 'http://HOST:PORT'",
            "a server alias is {url = 'http://HOST:PORT', model = 'NAME', api_key_env = 'ENV_VAR'}",
        )  # fmt: skip
    if "timeout" in value and not value["timeout"] > 0:
        raise where.error("aliases", name, f"alias '{name}': timeout must be > 0 seconds")
    return dict(value)


def alias_text(target: str | dict) -> str:
    """An alias's target as shown to the user: a model name, or a server's URL (and model)."""
    if isinstance(target, str):
        return target
    text = str(target.get("url", ""))
    if target.get("model"):
        text += f" (model {target['model']})"
    if target.get("api_key_env"):
        text += f", key from ${target['api_key_env']}"
    return text


def config_layer(config: Config) -> Layer | None:
    """config.toml's settings (top-level model settings and [sampling]); None if it has none."""
    values: dict[str, object] = {
        name: getattr(config, name) for name in MODEL_NAMES if getattr(config, name) is not None
    }
    values.update(config.sampling)
    if not values:
        return None
    path = str(config.path or "config.toml")
    at = {name: f"{path}:{line}" for name, line in config.lines.items() if name in values}
    return Layer(CONFIG, MappingProxyType(values), path, MappingProxyType(at))
