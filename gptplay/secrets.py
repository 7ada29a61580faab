"""Keeping API keys and URL credentials out of everything gptplay writes.

A key is registered the moment it is read (``keep_secret``): from the environment for a
server alias, or from a ``user:password@`` URL. From then on ``redact`` replaces it in
any text, and every writer (the error and notice printers, ``--json`` records, history
rows, results files) passes what it writes through it. Server URLs are shown and stored
without their userinfo (``public_url``). Nothing here imports the rest of gptplay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

MASK = "[redacted]"
MIN_LENGTH = 4  # shorter "secrets" ("a", "ab") would mask ordinary text
_USERINFO = re.compile(r"\b(https?://)[^/?#@\s]+@")
_SECRETS: set[str] = set()  # this process's keys: a set only grows, so no test patches it


def keep_secret(value: str | None) -> str | None:
    """Register a key, password or token so that ``redact`` masks it; return it unchanged."""
    if value and len(value) >= MIN_LENGTH:
        _SECRETS.add(value)
        if " " in value.strip():  # "Bearer sk-..." pasted whole: the token alone too
            keep_secret(value.strip().rsplit(" ", 1)[-1])
    return value


def redact(text: str) -> str:
    """``text`` with every registered secret masked and URLs' ``user:password@`` removed."""
    if not text:
        return text
    if "@" in text and "://" in text:
        text = _USERINFO.sub(r"\1", text)
    if not _SECRETS:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_bytes(data: bytes) -> bytes:
    if not _SECRETS or not data:
        return data
    for secret in sorted(_SECRETS, key=len, reverse=True):
        raw = secret.encode("utf-8")
        if raw in data:
            data = data.replace(raw, MASK.encode())
    return data


def redacted(value: object) -> object:
    """A JSON-like value (dicts, lists, strings) with every secret masked in its strings."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact(str(k)): redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redacted(v) for v in value)
    return value


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(the URL without ``user:password@``, the user, the password); both registered.

    A URL that does not parse is returned as it is: the HTTP client reports it.
    """
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return url, None, None
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.netloc.rsplit("@", 1)[1]
    keep_secret(password)
    if password is None:
        keep_secret(user)  # a bare token as the userinfo is a key too
    return urlunsplit(parts._replace(netloc=host)), user, password


def public_url(url: str) -> str:
    """A server URL as it may be shown and stored: without credentials."""
    return split_credentials(url)[0]


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """Terminal control characters (ESC, BEL, OSC's C1 codes...) written as ``\\xNN``.

    Newlines and tabs stay: they are text. Used on anything a server or a model sends
    before it reaches a terminal, so that ``\\x1b[2J`` shows as itself instead of clearing.
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
