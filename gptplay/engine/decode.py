"""Incremental UTF-8 decoding of token bytes: no byte lost, none replaced mid-character."""

from __future__ import annotations

import codecs


class Utf8Stream:
    """Feeds token bytes in; returns the text completed so far by each token."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        return self._decoder.decode(data)

    def finish(self) -> str:
        """Text for bytes still pending at the end (an unfinished character becomes U+FFFD)."""
        return self._decoder.decode(b"", final=True)
