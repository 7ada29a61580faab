"""The one boundary where a server's answer becomes data: every field type- and range-checked.

A server may be anything (a proxy, a stale build, a hostile script). Each value gptplay
uses is checked here before use, and a bad one is one line naming the server, the field
and the value (trimmed), never a traceback from deep inside the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from gptplay.engine.remote.transport import RemoteError, server_text

MAX_VOCAB = 1 << 24  # no tokenizer has 16 million tokens: an id beyond is not an id
MAX_CTX = 1 << 26  # 67 million tokens of context
LOGPROB_SLACK = 1e-3  # a log-probability a hair above 0 is rounding; more is not one


def shown(value: object, limit: int = 60) -> str:
    text = repr(value)
    return server_text(text if len(text) <= limit else text[: limit - 1] + "…", limit + 1)


class Fields:
    """Checks for the fields of one server's answers (``url`` names it in errors)."""

    def __init__(self, url: str, n_vocab: Callable[[], int | None] = lambda: None) -> None:
        self.url = url
        self._n_vocab = n_vocab

    def bad(self, field: str, value: object, why: str) -> RemoteError:
        return RemoteError(
            f"{self.url} sent {field} = {shown(value)}: {why}.",
            hint="the server answered something gptplay cannot use: check --model and the "
            "server's version.",
        )

    def mapping(self, value: object, field: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.bad(field, value, "expected a JSON object")
        return value

    def items(self, value: object, field: str) -> list:
        """A list (a missing field is an empty one)."""
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.bad(field, value, "expected a list")
        return value

    def text(self, value: object, field: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.bad(field, value, "expected a string")
        return value

    def token_id(self, value: object, field: str = "a token id") -> int:
        if type(value) is not int:
            raise self.bad(field, value, "a token id is a whole number")
        bound = self._n_vocab() or MAX_VOCAB
        if not 0 <= value < bound:
            raise self.bad(field, value, f"a token id is between 0 and {bound - 1}")
        return value

    def token_ids(self, value: object, field: str = "tokens") -> list[int]:
        return [self.token_id(v, field) for v in self.items(value, field)]

    def logprob(self, value: object, field: str = "a logprob") -> float:
        if type(value) not in (int, float):
            raise self.bad(field, value, "a log-probability is a number")
        if math.isnan(value) or value == math.inf:
            raise self.bad(field, value, "a log-probability is finite and at most 0")
        if value > LOGPROB_SLACK:
            raise self.bad(field, value, "a log-probability is at most 0")
        return min(float(value), 0.0)

    def prob(self, value: object, field: str = "a probability") -> float:
        """A probability (post-sampling ``prob``) as a log-probability."""
        if type(value) not in (int, float) or not 0 <= value <= 1 + LOGPROB_SLACK:
            raise self.bad(field, value, "a probability is between 0 and 1")
        return math.log(value) if value > 0 else -math.inf

    def byte_values(self, value: object, field: str = "bytes") -> bytes:
        if not isinstance(value, list) or not all(type(b) is int and 0 <= b <= 255 for b in value):
            raise self.bad(field, value, "expected a list of byte values 0-255")
        return bytes(value)

    def n_ctx(self, value: object, field: str = "n_ctx") -> int | None:
        """A context size, or None where the server does not say."""
        if value is None:
            return None
        if type(value) is not int or not 0 < value <= MAX_CTX:
            raise self.bad(field, value, f"a context size is a whole number from 1 to {MAX_CTX}")
        return value

    def vocab_size(self, value: object, field: str = "n_vocab") -> int:
        if type(value) is not int or not 0 < value <= MAX_VOCAB:
            raise self.bad(
                field, value, f"a vocabulary size is a whole number from 1 to {MAX_VOCAB}"
            )
        return value

    def version(self, value: object) -> tuple[int, ...] | None:
        """A release like '0.11.0' or '0.10.2rc1' as (0, 11, 0); None when it is not one."""
        if not isinstance(value, str):
            return None
        parts = []
        for part in value.strip().lstrip("v").split(".")[:3]:
            digits = ""
            for ch in part:
                if not (ch.isascii() and ch.isdigit()):
                    break
                digits += ch
            if not digits or len(digits) > 6:
                break
            parts.append(int(digits))
            if len(digits) < len(part):  # '2rc1': the release number ends here
                break
        return tuple(parts) or None

    def count(self, value: object, field: str) -> int:
        if type(value) is not int or value < 0:
            raise self.bad(field, value, "expected a count (a whole number >= 0)")
        return value

    @contextmanager
    def reading(self, what: str) -> Iterator[None]:
        """The last line of the boundary: a shape no check above foresaw is still one line."""
        try:
            yield
        except RemoteError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise RemoteError(
                f"{self.url} answered {what} in a shape gptplay cannot read ({shown(detail, 80)}).",
                hint="the server answered something gptplay cannot use: check --model and the "
                "server's version.",
            ) from None

    def each(self, what: str, items: Iterable) -> Iterator:
        """``items`` with ``reading``'s guarantee for every step of the iteration."""
        it = iter(items)
        try:
            while True:
                with self.reading(what):
                    try:
                        item = next(it)
                    except StopIteration:
                        return
                yield item
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
