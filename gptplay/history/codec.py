"""A compact binary encoding of a run's tokens (ids, bytes, logprobs, alternatives), zlib'd.

Layout (before compression): a version byte; a piece table (every distinct token id of
the run with its bytes, once); then per token a flags byte, its id, its logprob (float32)
and its alternatives as (id, float32 logprob) pairs; under a constraint, then its
constrained logprob and a byte per alternative saying whether the constraint allowed it.
A token's text is stored only where it is not simply its bytes decoded (the end of a
multi-byte character split over tokens).
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterable, Sequence

from gptplay.engine.types import Alternative, TokenEvent

VERSION = 1
_F32 = struct.Struct("<f")
# The most a blob may inflate to: a 32,768-token run with 20 alternatives a token is about
# 5 MB; a hostile blob (a zlib bomb: 300 MB from 300 KB) is refused at this size instead.
MAX_DECODED = 32 * 1024 * 1024
MAX_VARINT_BYTES = 10  # a 64-bit value; more is not ours (and would grow a huge int)

HAS_LOGPROB = 1
HAS_TEXT = 2
HAS_SAMPLED = 4
HAS_SAMPLED_TOP = 8
HAS_CONSTRAINED = 16  # a constrained logprob (under a grammar, a schema, choices, a bias)
HAS_ALLOWED = 32  # the alternatives' allowed flags, one byte each (0 unknown, 1 yes, 2 no)
_ALLOWED = {None: 0, True: 1, False: 2}
_ALLOWED_BACK = {0: None, 1: True, 2: False}


class CodecError(ValueError):
    """Bytes that are not an encoding of tokens this version can read."""


def _varint(out: bytearray, n: int) -> None:
    n = (n << 1) ^ (n >> 63)  # zigzag: the UTF-8 tail event has id -1
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self) -> int:
        shift = n = 0
        while True:
            if self.pos >= len(self.data):
                raise CodecError("truncated token data")
            if shift >= 7 * MAX_VARINT_BYTES:
                raise CodecError("a number in the token data is longer than 64 bits")
            byte = self.data[self.pos]
            self.pos += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return (n >> 1) ^ -(n & 1)

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise CodecError("truncated token data")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def f32(self) -> float:
        value = _F32.unpack(self.take(4))[0]
        if math.isnan(value) or value > 1e-3:  # -inf is p = 0 under the sampling chain
            raise CodecError(f"a log-probability in the token data is {value!r}")
        return value


def _plain_text(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _alts(out: bytearray, alts: Sequence[Alternative]) -> None:
    _varint(out, len(alts))
    for a in alts:
        _varint(out, a.id)
        out += _F32.pack(a.logprob)


def encode(events: Iterable[TokenEvent]) -> bytes:
    """The events as compressed bytes (decode() gives them back, logprobs as float32)."""
    events = list(events)
    pieces: dict[int, bytes] = {}
    for e in events:
        pieces.setdefault(e.id, e.bytes)
        for a in (*e.top, *e.sampled_top):
            pieces.setdefault(a.id, a.bytes)
    out = bytearray([VERSION])
    _varint(out, len(pieces))
    for token, data in pieces.items():
        _varint(out, token)
        _varint(out, len(data))
        out += data
    _varint(out, len(events))
    for e in events:
        flags = 0
        if e.logprob is not None:
            flags |= HAS_LOGPROB
        if e.text != _plain_text(e.bytes) or pieces[e.id] != e.bytes:
            flags |= HAS_TEXT
        if e.sampled_logprob is not None:
            flags |= HAS_SAMPLED
        if e.sampled_top:
            flags |= HAS_SAMPLED_TOP
        if e.constrained_logprob is not None:
            flags |= HAS_CONSTRAINED
        if any(a.allowed is not None for a in e.top):
            flags |= HAS_ALLOWED
        out.append(flags)
        _varint(out, e.id)
        if flags & HAS_LOGPROB:
            out += _F32.pack(e.logprob)
        if flags & HAS_TEXT:
            text = e.text.encode("utf-8", "surrogatepass")
            _varint(out, len(text))
            out += text
            _varint(out, len(e.bytes))
            out += e.bytes
        _alts(out, e.top)
        if flags & HAS_SAMPLED:
            out += _F32.pack(e.sampled_logprob)
        if flags & HAS_SAMPLED_TOP:
            _alts(out, e.sampled_top)
        if flags & HAS_CONSTRAINED:
            out += _F32.pack(e.constrained_logprob)
        if flags & HAS_ALLOWED:
            out += bytes(_ALLOWED[a.allowed] for a in e.top)
    return zlib.compress(bytes(out), 6)


def inflate(blob: object, what: str = "token data") -> bytes:
    """zlib's output, at most MAX_DECODED bytes of it; CodecError for anything else."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise CodecError(f"{what} is a {type(blob).__name__}, not bytes")
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(blob, MAX_DECODED)
    except zlib.error as exc:
        raise CodecError(f"not compressed {what} ({exc})") from None
    if inflater.unconsumed_tail:
        raise CodecError(f"{what} inflates to more than {MAX_DECODED // 2**20} MiB")
    if not inflater.eof:
        raise CodecError(f"truncated compressed {what}")
    if not data or data[0] != VERSION:
        raise CodecError(f"{what} version {data[:1]!r} is not {VERSION}")
    return data


def decode(blob: bytes) -> tuple[TokenEvent, ...]:
    """The events encode() wrote; CodecError for anything else."""
    r = _Reader(inflate(blob))
    r.pos = 1
    try:
        return _events(r)
    except UnicodeDecodeError as exc:
        raise CodecError(f"token text is not UTF-8 ({exc.reason})") from None


def _events(r: _Reader) -> tuple[TokenEvent, ...]:
    pieces: dict[int, bytes] = {}
    for _ in range(r.varint()):
        token = r.varint()
        pieces[token] = r.take(r.varint())

    def alts() -> tuple[Alternative, ...]:
        out = []
        for _ in range(r.varint()):
            token = r.varint()
            out.append(Alternative(token, pieces.get(token, b""), r.f32()))
        return tuple(out)

    events = []
    for _ in range(r.varint()):
        flags = r.take(1)[0]
        token = r.varint()
        logprob = r.f32() if flags & HAS_LOGPROB else None
        data_ = pieces.get(token, b"")
        if flags & HAS_TEXT:
            text = r.take(r.varint()).decode("utf-8", "surrogatepass")
            data_ = r.take(r.varint())
        else:
            text = data_.decode("utf-8")
        top = alts()
        sampled = r.f32() if flags & HAS_SAMPLED else None
        sampled_top = alts() if flags & HAS_SAMPLED_TOP else ()
        constrained = r.f32() if flags & HAS_CONSTRAINED else None
        if flags & HAS_ALLOWED:
            top = tuple(_allowed(a, r.take(1)[0]) for a in top)
        events.append(
            TokenEvent(token, data_, text, logprob, top, sampled, sampled_top, constrained)
        )
    if r.pos != len(r.data):
        raise CodecError(f"{len(r.data) - r.pos} bytes after the last token")
    return tuple(events)


def _allowed(alt: Alternative, byte: int) -> Alternative:
    if byte not in _ALLOWED_BACK:
        raise CodecError(f"an allowed flag in the token data is {byte}, not 0, 1 or 2")
    return Alternative(alt.id, alt.bytes, alt.logprob, _ALLOWED_BACK[byte])


def encode_ids(ids: Sequence[int]) -> bytes:
    """A list of token ids, compressed (a prompt given as tokens)."""
    out = bytearray([VERSION])
    _varint(out, len(ids))
    for token in ids:
        _varint(out, token)
    return zlib.compress(bytes(out), 6)


def decode_ids(blob: bytes) -> list[int]:
    """The ids encode_ids() wrote; CodecError for anything else."""
    r = _Reader(inflate(blob, "token ids"))
    r.pos = 1
    ids = [r.varint() for _ in range(r.varint())]
    if r.pos != len(r.data):
        raise CodecError(f"{len(r.data) - r.pos} bytes after the last token id")
    return ids
