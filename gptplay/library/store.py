"""Where prompts live: built-ins in the package, user libraries on disk (user shadows built-in)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from gptplay.errors import did_you_mean
from gptplay.library.errors import PromptError
from gptplay.library.loader import check, load_text, read_source
from gptplay.library.spec import PromptSpec
from gptplay.paths import config_dir

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
BUILTIN = "built-in"
USER = "user"


@dataclass(frozen=True)
class PromptEntry:
    """One prompt a name resolves to, where it is, and whether it hides a built-in."""

    name: str
    path: Path
    origin: str
    shadows_builtin: bool = False


def check_name(name: str) -> str:
    """The name if it can be a file in a library directory; a PromptError otherwise."""
    if "/" in name or "\\" in name or ".." in name or name.startswith("."):
        raise PromptError(
            f"'{name}' is not a prompt name: it would escape the library directory.",
            hint="use letters, digits, '-' and '_' only, like my-translate.",
        )
    if not _NAME.match(name):
        raise PromptError(
            f"'{name}' is not a prompt name.",
            hint="use up to 64 letters, digits, '-' and '_', starting with a letter or digit.",
        )
    return name


def builtin_dir() -> Path:
    """The directory of the prompts that ship inside the package."""
    return Path(str(resources.files("gptplay.prompt_library")))


@dataclass(frozen=True)
class Library:
    """The user libraries (first one receives saves), searched before the built-ins."""

    user_dirs: tuple[Path, ...]

    @classmethod
    def default(cls, extra: str | Path | None = None) -> Library:
        """--library DIR, then each directory in GPTPLAY_LIBRARY, then config_dir()/prompts."""
        dirs: list[Path] = []
        if extra:
            dirs.append(Path(extra).expanduser())
        env = os.environ.get("GPTPLAY_LIBRARY", "")
        dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
        dirs.append(config_dir() / "prompts")
        return cls(tuple(dirs))

    @property
    def save_dir(self) -> Path:
        """Where new and edited prompts are written."""
        return self.user_dirs[0]

    def entries(self) -> list[PromptEntry]:
        """Every prompt name once, user prompts first in search order, sorted by name."""
        found: dict[str, PromptEntry] = {}
        for d in self.user_dirs:
            for path in sorted(d.glob("*.toml")) if d.is_dir() else ():
                if _NAME.match(path.stem):
                    found.setdefault(path.stem, PromptEntry(path.stem, path, USER))
        for path in sorted(builtin_dir().glob("*.toml")):
            name = path.stem
            if name in found:
                found[name] = PromptEntry(name, found[name].path, USER, shadows_builtin=True)
            else:
                found[name] = PromptEntry(name, path, BUILTIN)
        return sorted(found.values(), key=lambda e: e.name)

    def find(self, name: str) -> PromptEntry:
        """The prompt a name resolves to; a PromptError suggesting close names otherwise."""
        check_name(name)
        entries = {e.name: e for e in self.entries()}
        if name in entries:
            return entries[name]
        hint = did_you_mean(name, entries) or "gptplay library list shows every prompt."
        raise PromptError(f"no prompt named '{name}'.", hint=hint)

    def builtin_path(self, name: str) -> Path | None:
        """The built-in prompt of that name, if there is one."""
        path = builtin_dir() / f"{check_name(name)}.toml"
        return path if path.is_file() else None

    def user_path(self, name: str) -> Path:
        """Where the user's own prompt of that name is (or would be) saved."""
        return self.save_dir / f"{check_name(name)}.toml"

    def load(self, name_or_path: str | Path) -> PromptSpec:
        """A prompt by name, or by path when given a path to a .toml file."""
        text = str(name_or_path)
        if isinstance(name_or_path, Path) or text.endswith(".toml") or os.sep in text:
            path = Path(text).expanduser()
            if not path.is_file():
                raise PromptError(f"no prompt file {text}.")
            return load_file(path)
        entry = self.find(text)
        return load_file(entry.path, builtin=entry.origin == BUILTIN)


def load_file(path: Path, builtin: bool = False) -> PromptSpec:
    """Read and validate one prompt file."""
    from dataclasses import replace

    spec = load_text(read_source(path), str(path), path.stem)
    return replace(spec, source=path, builtin=builtin)


def validate_file(path: Path) -> list[PromptError]:
    """Every problem of one prompt file (empty when it is valid)."""
    try:
        text = read_source(path)
    except PromptError as exc:
        return [exc]
    return check(text, str(path), path.stem)[1]


def load_prompt(name_or_path: str | Path, library: str | Path | None = None) -> PromptSpec:
    """A prompt by name (user libraries, then built-ins) or by file path."""
    return Library.default(library).load(name_or_path)


def list_prompts(library: str | Path | None = None) -> list[PromptEntry]:
    """Every prompt a name can reach, sorted by name."""
    return Library.default(library).entries()
