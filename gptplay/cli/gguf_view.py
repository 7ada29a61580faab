"""Rendering a GGUF's metadata for `gptplay models info`: a rich view and a JSON record."""

from __future__ import annotations

from gptplay.gguf_info import AttentionLayout, GgufInfo

LOCAL, GLOBAL = "▒", "█"
TOKENIZERS = {
    "llama": "SentencePiece",
    "gpt2": "byte-level BPE",
    "bert": "WordPiece",
    "t5": "Unigram",
    "rwkv": "RWKV",
    "plamo2": "PLaMo-2",
}


def size_text(n: int) -> str:
    """Bytes as KiB/MiB/GiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def count_text(n: int) -> str:
    """A parameter count as 268.1 M or 7.24 B."""
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M"


def layout_rows(layout: AttentionLayout, width: int = 60) -> list[str]:
    """The layers as one character each (local or global), with layer numbers above."""
    rows = []
    for start in range(0, len(layout.local), width):
        chunk = layout.local[start : start + width]
        tens = "".join(str((start + i) // 10 % 10) if (start + i) % 10 == 0 else " "
                       for i in range(len(chunk)))  # fmt: skip
        ones = "".join(str((start + i) % 10) for i in range(len(chunk)))
        cells = "".join(LOCAL if is_local else GLOBAL for is_local in chunk)
        rows += [f"layer {tens}", f"      {ones}", f"      {cells}"]
    return rows


def layout_summary(layout: AttentionLayout) -> str:
    """One line: how many layers are local and global, and where that comes from."""
    n_global = len(layout.global_layers)
    n_local = len(layout.local) - n_global
    if layout.window is None:
        return f"all {len(layout.local)} layers attend globally (no sliding window)"
    ratio = f", {layout.pattern - 1} local : 1 global" if layout.pattern else ""
    return (
        f"{n_local} local (sliding window of {layout.window} tokens), {n_global} global"
        f"{ratio}; layout from {layout.source}"
    )


def facts(info: GgufInfo) -> list[tuple[str, str]]:
    """The key facts as (label, text) rows."""
    heads, kv = info.arch_get("attention.head_count"), info.arch_get("attention.head_count_kv")
    head_size = info.arch_get("attention.key_length")
    attention = f"{heads} heads" if heads is not None else "unknown"
    if isinstance(heads, int) and isinstance(kv, int) and kv:
        kind = "multi-head" if kv == heads else f"grouped-query, {heads // kv} per KV head"
        attention += f", {kv} KV head{'s' if kv != 1 else ''} ({kind})"
    if head_size:
        attention += f", head size {head_size}"
    tok = str(info.get("tokenizer.ggml.model", "unknown"))
    pre = info.get("tokenizer.ggml.pre")
    tokenizer = f"{tok} ({TOKENIZERS.get(tok, tok)})" + (f", pre-tokenizer {pre}" if pre else "")
    vocab = f"{info.vocab_size:,} tokens" if info.vocab_size else "unknown"
    ctx = info.arch_get("context_length")
    label = info.get("general.size_label")
    template = "yes (--template prints it)" if info.chat_template else "none (a base model?)"
    return [
        ("file", f"{info.path} ({size_text(info.file_size)})"),
        ("name", info.name or "-"),
        ("architecture", info.architecture),
        ("parameters", count_text(info.n_params) + (f" (labelled {label})" if label else "")),
        ("quantization", info.quantization),
        ("context length", f"{ctx:,} tokens (trained)" if isinstance(ctx, int) else "unknown"),
        ("layers", str(info.n_layers or "unknown")),
        ("attention", attention),
        ("embedding size", str(info.arch_get("embedding_length", "unknown"))),
        ("feed-forward", str(info.arch_get("feed_forward_length", "unknown"))),
        ("vocabulary", f"{vocab}, tokenizer {tokenizer}"),
        ("chat template", template),
    ]


def print_info(info: GgufInfo, title: str, console) -> None:
    """The rich view: facts, tensor types with their share of the file, attention layout."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(title)}[/]")
    grid = Table.grid(padding=(0, 2))
    for label, text in facts(info):
        grid.add_row(f"[dim]{label}[/]", escape(text))
    console.print(grid)
    table = Table(title="tensor types", title_justify="left", box=None, padding=(0, 2))
    for col in ("type", "tensors", "parameters", "size", "share of file"):
        table.add_column(col, justify="left" if col == "type" else "right")
    for t in info.tensor_types:
        share = t.bytes / info.file_size if info.file_size else 0
        table.add_row(t.name, str(t.tensors), count_text(t.params), size_text(t.bytes),
                      f"{share:.1%}")  # fmt: skip
    console.print()
    console.print(table)
    layout = info.attention_layout()
    console.print()
    console.print(f"[bold]attention layout[/]: {escape(layout_summary(layout))}")
    if layout.local:
        for row in layout_rows(layout):
            console.print("  " + row, highlight=False)
        window = f"the previous {layout.window} tokens" if layout.window else "a window"
        console.print(f"  {LOCAL} local: attends to {window}   {GLOBAL} global: the whole context")


def info_record(info: GgufInfo, name: str) -> dict:
    """The --json record."""
    layout = info.attention_layout()
    return {
        "name": name,
        "path": str(info.path),
        "file_size": info.file_size,
        "gguf_version": info.version,
        "model_name": info.name,
        "architecture": info.architecture,
        "parameters": info.n_params,
        "quantization": info.quantization,
        "tensor_types": [
            {
                "type": t.name,
                "tensors": t.tensors,
                "parameters": t.params,
                "bytes": t.bytes,
                "share_of_file": t.bytes / info.file_size if info.file_size else 0,
            }
            for t in info.tensor_types
        ],
        "context_length": info.arch_get("context_length"),
        "layers": info.n_layers,
        "heads": info.arch_get("attention.head_count"),
        "kv_heads": info.arch_get("attention.head_count_kv"),
        "embedding_size": info.arch_get("embedding_length"),
        "vocab_size": info.vocab_size,
        "tokenizer": info.get("tokenizer.ggml.model"),
        "has_chat_template": info.chat_template is not None,
        "sliding_window": layout.window,
        "swa_pattern": layout.pattern,
        "layout_source": layout.source,
        "local_layers": [i for i, is_local in enumerate(layout.local) if is_local],
        "global_layers": layout.global_layers,
    }
