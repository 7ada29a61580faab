"""A GGUF file's metadata, read without loading the weights.

The ``gguf`` package from llama.cpp supplies the format's constants (value types, tensor
types and their block sizes, file types). Its ``GGUFReader`` builds a numpy view of every
array element, which takes about 18 s for Gemma 3's 262,144-token vocabulary on this
machine, so the header is walked here directly and large arrays are skipped by length.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gptplay.errors import ModelError
from gptplay.fileio import require_regular_file

# Arrays up to this many elements keep their values (tags, per-layer patterns); longer ones
# keep only their length (vocabularies, scores, merges).
SMALL_ARRAY = 256
# Arrays of arrays deeper than this are refused as damaged (real files nest one or two).
MAX_ARRAY_DEPTH = 16

# Layers per repeat of the sliding-window pattern where the file does not say: llama.cpp's
# set_swa_pattern(n) makes every n-th layer global. Gemma 3: five local layers, then a global one.
KNOWN_SWA_PATTERNS = {"gemma3": 6, "gemma2": 2, "cohere2": 4}

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?"}
_SCALARS |= {10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array: its element type, its length, and its values when it is small."""

    type: int
    count: int
    values: tuple | None = None


@dataclass(frozen=True)
class TensorType:
    """One tensor type's share of a model: how many tensors, parameters and bytes."""

    name: str
    tensors: int
    params: int
    bytes: int


@dataclass(frozen=True)
class GgufInfo:
    """What a GGUF file says about its model."""

    path: Path
    file_size: int
    version: int
    metadata: dict[str, object] = field(repr=False)
    tensor_types: tuple[TensorType, ...]
    n_params: int

    def get(self, key: str, default: object = None) -> object:
        """A metadata value by key, or ``default``."""
        return self.metadata.get(key, default)

    def arch_get(self, key: str, default: object = None) -> object:
        """An architecture-scoped value: ``block_count`` reads ``gemma3.block_count``."""
        return self.metadata.get(f"{self.architecture}.{key}", default)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))

    @property
    def name(self) -> str | None:
        value = self.metadata.get("general.name")
        return str(value) if value is not None else None

    @property
    def quantization(self) -> str:
        """The file type llama.cpp's quantizer wrote (Q4_K_M), else the dominant tensor type."""
        from gguf.constants import LlamaFileType

        file_type = self.metadata.get("general.file_type")
        if isinstance(file_type, int):
            try:
                return LlamaFileType(file_type).name.removeprefix("MOSTLY_")
            except ValueError:
                pass
        if not self.tensor_types:
            return "unknown"
        return max(self.tensor_types, key=lambda t: t.bytes).name

    @property
    def n_layers(self) -> int | None:
        value = self.arch_get("block_count")
        return int(value) if isinstance(value, int) else None

    @property
    def vocab_size(self) -> int | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if isinstance(tokens, ArrayInfo):
            return tokens.count
        value = self.arch_get("vocab_size")
        return int(value) if isinstance(value, int) else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def sliding_window(self) -> int | None:
        value = self.arch_get("attention.sliding_window")
        return int(value) if isinstance(value, int) and value > 0 else None

    def attention_layout(self) -> AttentionLayout:
        """Which layers attend through a sliding window and which attend globally."""
        return attention_layout(self)


@dataclass(frozen=True)
class AttentionLayout:
    """Per layer, True where attention is local (sliding window), False where global."""

    local: tuple[bool, ...]
    window: int | None
    pattern: int | None  # layers per repeat (6 for Gemma 3), when the layout is periodic
    source: str  # "metadata", "known pattern for gemma3", or "no sliding window"

    @property
    def global_layers(self) -> list[int]:
        return [i for i, is_local in enumerate(self.local) if not is_local]


def attention_layout(info: GgufInfo) -> AttentionLayout:
    """The local/global layout: from the file's metadata when it has it, else a known pattern."""
    n = info.n_layers or 0
    window = info.sliding_window
    if window is None:
        return AttentionLayout((False,) * n, None, None, "no sliding window")
    raw = info.arch_get("attention.sliding_window_pattern")
    if isinstance(raw, ArrayInfo) and raw.values is not None and len(raw.values) == n:
        return AttentionLayout(tuple(bool(v) for v in raw.values), window, None, "metadata")
    if isinstance(raw, int) and raw > 0:
        return AttentionLayout(_periodic(n, raw), window, raw, "metadata")
    known = KNOWN_SWA_PATTERNS.get(info.architecture)
    if known:
        return AttentionLayout(
            _periodic(n, known),
            window,
            known,
            f"llama.cpp's {info.architecture} pattern (not in the file)",
        )
    # A window and no pattern: llama.cpp then applies the window to every layer.
    return AttentionLayout((True,) * n, window, None, "metadata (window on every layer)")


def _periodic(n_layers: int, every: int) -> tuple[bool, ...]:
    """llama.cpp's set_swa_pattern: layer i is local unless it is the last of each group."""
    return tuple(i % every < every - 1 for i in range(n_layers))


def read_gguf(path: Path) -> GgufInfo:
    """Read a GGUF file's header (metadata and tensor table); ModelError if it is not one."""
    path = Path(path)
    require_regular_file(path, "the model", ModelError)  # a FIFO would block the read
    try:
        with path.open("rb") as fh:
            size = path.stat().st_size
            if size < 24:
                raise _not_gguf(path, "it is too short")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return _parse(path, mm, size)
    except FileNotFoundError:
        raise ModelError(f"Model file not found: {path}") from None
    except IsADirectoryError:
        raise ModelError(f"{path} is a directory, not a .gguf model file.") from None
    except OSError as exc:  # permissions, a symlink loop, an I/O error
        raise ModelError(f"Cannot read model file {path}: {exc.strerror}.") from None
    except (struct.error, IndexError, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise _not_gguf(path, f"its header is damaged or truncated ({exc})") from None


def _not_gguf(path: Path, why: str) -> ModelError:
    return ModelError(
        f"{path} is not a readable GGUF model file: {why}.",
        hint="download it again, or choose another model (gptplay models list).",
    )


class _Cursor:
    """Little-endian reads from a memory map, advancing an offset."""

    def __init__(self, mm: mmap.mmap) -> None:
        self.mm = mm
        self.off = 0

    def unpack(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.mm, self.off)
        self.off += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        if self.off + n > len(self.mm):
            raise ValueError("a string runs past the end of the file")
        raw = self.mm[self.off : self.off + n]
        self.off += n
        return raw.decode("utf-8", errors="replace")

    def skip_strings(self, count: int) -> None:
        unpack_from, mm, off = struct.unpack_from, self.mm, self.off
        for _ in range(count):
            off += 8 + unpack_from("<Q", mm, off)[0]
        if off > len(mm):
            raise ValueError("an array runs past the end of the file")
        self.off = off

    def value(self, vtype: int, depth: int = 0):
        if vtype == _STRING:
            return self.string()
        if vtype == _ARRAY:
            if depth >= MAX_ARRAY_DEPTH:
                raise ValueError(f"arrays nested more than {MAX_ARRAY_DEPTH} deep")
            etype, count = self.unpack("<I"), self.unpack("<Q")
            if count <= SMALL_ARRAY:
                values = tuple(self.value(etype, depth + 1) for _ in range(count))
                return ArrayInfo(etype, count, values)
            if etype == _STRING:
                self.skip_strings(count)
            elif etype in _SCALARS:
                self.off += count * struct.calcsize(_SCALARS[etype])
            else:
                raise ValueError(f"unsupported array element type {etype}")
            return ArrayInfo(etype, count)
        if vtype not in _SCALARS:
            raise ValueError(f"unknown value type {vtype}")
        return self.unpack(_SCALARS[vtype])


def _parse(path: Path, mm: mmap.mmap, size: int) -> GgufInfo:
    cur = _Cursor(mm)
    if mm[:4] != b"GGUF":
        raise _not_gguf(path, "it does not start with the GGUF magic bytes")
    cur.off = 4
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise _not_gguf(path, f"GGUF version {version} is not supported (big-endian files aren't)")
    n_tensors, n_kv = cur.unpack("<Q"), cur.unpack("<Q")
    metadata: dict[str, object] = {}
    for _ in range(n_kv):
        key = cur.string()
        metadata[key] = cur.value(cur.unpack("<I"))
    tensors = [_tensor(cur) for _ in range(n_tensors)]
    types, n_params = _summarise(tensors)
    return GgufInfo(path, size, version, metadata, types, n_params)


def _tensor(cur: _Cursor) -> tuple[str, int, int]:
    """One tensor-table entry as (name, ggml type, number of elements)."""
    name = cur.string()
    n_dims = cur.unpack("<I")
    if n_dims > 8:
        raise ValueError(f"tensor {name!r} claims {n_dims} dimensions")
    n = 1
    for _ in range(n_dims):
        n *= cur.unpack("<Q")
    ttype = cur.unpack("<I")
    cur.unpack("<Q")  # data offset
    return name, ttype, n


def _summarise(tensors: Iterable[tuple[str, int, int]]) -> tuple[tuple[TensorType, ...], int]:
    """Group the tensors by type; bytes from ggml's block sizes, largest share first."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    groups: dict[str, list[int]] = {}
    total = 0
    for _, ttype, n in tensors:
        try:
            qtype = GGMLQuantizationType(ttype)
            block, type_size = GGML_QUANT_SIZES[qtype]
            name = qtype.name
        except (ValueError, KeyError):
            name, block, type_size = f"type {ttype}", 0, 0
        n_bytes = n // block * type_size if block else 0
        group = groups.setdefault(name, [0, 0, 0])
        group[0] += 1
        group[1] += n
        group[2] += n_bytes
        total += n
    rows = [TensorType(name, c, p, b) for name, (c, p, b) in groups.items()]
    rows.sort(key=lambda t: (-t.bytes, t.name))
    return tuple(rows), total
