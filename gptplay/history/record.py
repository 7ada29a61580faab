"""Turning a finished run into a history record, and writing it without ever failing the run."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from gptplay.engine.types import Completion, TokenEvent
from gptplay.history import codec, store

Warn = Callable[[str], None]
HEADER_BYTES = 64 * 1024  # the GGUF header and the start of its metadata
_WARNED: set[str] = set()


def settings_dict(settings: object, engine: object | None = None, **options: object) -> dict:
    """Every resolved setting of a run, and the output options it ran with.

    ``settings`` is the run's resolved settings (gptplay.settings' ``Resolved``: every
    setting of the table), or bare SamplingParams or a mapping where a screen has no more;
    then the engine supplies the model settings it was loaded with.
    """
    if hasattr(settings, "as_dict"):
        out: dict[str, object] = settings.as_dict()
    elif dataclasses.is_dataclass(settings):
        out = dataclasses.asdict(settings)
        out["stop"] = list(out.get("stop") or ())
    else:
        out = dict(settings)  # type: ignore[call-overload]
    if engine is not None:
        out.setdefault("ctx", getattr(engine, "n_ctx", None))
        out.setdefault("threads", getattr(engine, "threads", None))
        out.setdefault("gpu_layers", getattr(engine, "n_gpu_layers", 0))
    out.update(options)
    return out


def recorded_values(settings: Mapping[str, object], seed: int | None) -> dict[str, object]:
    """A run's recorded settings that gptplay still knows (lists back to tuples), its seed the
    one that ran: the values of a settings Layer that runs it again (or shows it again)."""
    from gptplay.settings import BY_NAME

    values = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in settings.items()
        if k in BY_NAME and v is not None
    }
    values["seed"] = seed
    return values


@lru_cache(maxsize=16)
def _fingerprint(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
    return f"{size}:{hashlib.sha256(head).hexdigest()[:16]}"


def model_info(engine: object) -> dict[str, object]:
    """Name, path, size and a cheap fingerprint (size plus a hash of the file's first 64 KiB)."""
    info: dict[str, object] = {"model": getattr(engine, "model_name", None)}
    path = getattr(engine, "path", None)
    if path is None:
        return info
    try:
        st = Path(path).stat()
        fingerprint = _fingerprint(str(path), st.st_size, st.st_mtime_ns)
    except OSError:
        return {**info, "model_path": str(path)}
    return {
        **info,
        "model_path": str(Path(path).resolve()),
        "model_size": st.st_size,
        "model_fingerprint": fingerprint,
    }


def engine_build(engine: object) -> tuple[int | None, str]:
    """The engine's thread count and its build (llama-cpp-python's version and llama.cpp's)."""
    threads = getattr(engine, "threads", None)
    build_info = getattr(engine, "build_info", None)
    if callable(build_info):
        try:
            return threads, str(build_info())
        except Exception:  # noqa: BLE001 - bookkeeping never fails a run
            pass
    if type(engine).__name__ == "FakeEngine":
        return threads, "fake"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return threads, f"llama-cpp-python {version('llama-cpp-python')}"
    except PackageNotFoundError:
        return threads, "unknown"


def file_hash(path: Path | str | None) -> str | None:
    """A short content hash of a prompt file (None when there is none or it is gone)."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError:
        return None


def timings(c: Completion) -> dict[str, object]:
    return {
        "elapsed_s": round(c.elapsed_s, 4),
        "time_to_first_token_s": None
        if c.time_to_first_token_s is None
        else round(c.time_to_first_token_s, 4),
        "tokens_per_s": round(c.tokens_per_s, 3),
        "cached_tokens": c.cached_tokens,
        "unshown_tokens": c.unshown,
    }


def verdicts(c: Completion) -> dict[str, object]:
    """Under a constraint: whether the output completed the grammar and how often it refused
    a draw, and the JSON schema's verdict (nothing for an unconstrained run)."""
    out: dict[str, object] = {}
    if c.complete is not None:
        out.update(grammar_complete=c.complete, grammar_refused=c.refused)
    if c.schema_valid is not None:
        out.update(schema_valid=c.schema_valid, schema_problem=c.schema_problem)
    return out


def build(
    command: str,
    prompt: str,
    engine: object,
    settings: Mapping[str, object],
    completion: Completion | None = None,
    *,
    events: Sequence[TokenEvent] | None = None,
    finish: str | None = None,
    task: str | None = None,
    prompt_file: Path | str | None = None,
    prompt_ids: Sequence[int] | None = None,
    conversation: str | None = None,
    parent: int | None = None,
    context: Sequence[TokenEvent] = (),
    extra: Mapping[str, object] | None = None,
) -> dict:
    """A record for store.insert: who ran what, on which model and build, and what came out."""
    threads, build_name = engine_build(engine)
    if events is None:
        events = completion.events if completion is not None else ()
    record = {
        "created": time.time(),
        "command": command,
        "task": task,
        "prompt_hash": file_hash(prompt_file),
        "prompt": prompt,
        "output": "".join(e.text for e in events),
        "settings": dict(settings),
        "threads": threads,
        "build": build_name,
        "tokens": codec.encode(events) if events else None,
        "n_tokens": sum(1 for e in events if e.id >= 0),
        "prompt_ids": codec.encode_ids(prompt_ids) if prompt_ids is not None else None,
        "conversation": conversation,
        "parent": parent,
        "context_tokens": codec.encode(context) if context else None,
        "extra": dict(extra or {}),
        **model_info(engine),
    }
    if completion is not None:
        record.update(
            seed=completion.seed,
            finish=completion.finish_reason,
            prompt_tokens=completion.prompt_tokens,
            timings=timings(completion),
        )
        record["extra"].update(verdicts(completion))
    if finish is not None:
        record["finish"] = finish
    return record


def stderr_warning(text: str) -> None:
    """The CLI's one line: on standard error, in the error printer's style."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False).print(
        f"[bold yellow]warning:[/] {escape(text)}", soft_wrap=True
    )


def write(
    record: Mapping[str, object] | Callable[[], Mapping[str, object]],
    warn: Warn | None = None,
    path: Path | None = None,
    timeout: float = store.BUSY_TIMEOUT_S,
) -> int | None:
    """Insert the record (or what a callable builds); on any trouble warn once and return None."""
    try:
        record = record() if callable(record) else record
        conn = store.connect(path, timeout)
        try:
            return store.insert(conn, dict(record))
        finally:
            conn.close()
    except store.HistoryError as exc:
        message = exc.message
    except Exception as exc:  # noqa: BLE001 - history is never a reason to fail a run
        message = f"{path or store.db_path()}: {exc}"
    _warn_once(f"history: this run was not recorded: {message}", warn)
    return None


def _warn_once(text: str, warn: Warn | None) -> None:
    text = f"{text} (--no-history turns recording off)"
    if text not in _WARNED:
        _WARNED.add(text)
        (warn or stderr_warning)(text)


def edit_latest_turn(
    conversation: str,
    state: Mapping[str, object],
    warn: Warn | None = None,
    path: Path | None = None,
) -> None:
    """Keep ``state`` (a chat after an /undo) on the conversation's latest recorded turn.

    The turn's own record is left as it ran; ``extra.edited`` is what a resume starts from.
    """
    import json

    try:
        conn = store.connect(path)
        try:
            row = store.latest_in_conversation(conn, conversation)
            extra = json.loads(row.extra) if row is not None else None
            if isinstance(extra, dict):
                store.update_extra(conn, int(row.id), {**extra, "edited": dict(state)})
        finally:
            conn.close()
        return
    except store.HistoryError as exc:
        message = exc.message
    except Exception as exc:  # noqa: BLE001 - history is never a reason to fail a chat
        message = f"{path or store.db_path()}: {exc}"
    _warn_once(f"history: the edit was not recorded: {message}", warn)


def enabled(no_history: bool = False) -> bool:
    """Recording is on unless --no-history or `history = false` in config.toml."""
    if no_history:
        return False
    try:
        from gptplay.config import load_config

        return getattr(load_config(), "history", None) is not False
    except Exception:  # noqa: BLE001 - a broken config is reported by the command itself
        return True


def interrupted(exc: BaseException | None) -> bool:
    """Whether the exception leaving a run is the user's Ctrl-C (or its exit status 130)."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return isinstance(exc, SystemExit) and exc.code == 130
