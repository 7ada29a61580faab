"""The one definition of every generation and model setting.

Each row names a setting once: its type, its range, its default, its help text, its flag,
and where it may be set. The CLI flags, config.toml's validation, a prompt's [params],
the TUI's parameter fields, chat's `/set`, the JSON output and the history record are all
derived from this table, so a new setting is added here and nowhere else (the engine
only has to use it: engine/types.py's SamplingParams takes its defaults from here).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

SAMPLING = "sampling"
MODEL = "model"

# Where a setting may be given (the layers, lowest first; "default" is the table itself).
CONFIG, PROMPT, FLAG, SESSION = "config", "prompt", "flag", "session"
EVERYWHERE = frozenset({CONFIG, PROMPT, FLAG, SESSION})

# Bounds chosen so that every accepted value is one llama.cpp and the probability math
# handle: finite, inside a C int, and wide enough for any experiment worth running.
MAX_TEMPERATURE = 10.0  # softmax is already near uniform over the candidates well below this
MAX_TOP_K = 1_000_000  # more than any vocabulary (Gemma's is 262,144): the same as 0, off
MAX_REPEAT_PENALTY = 10.0
MAX_PENALTY = 2.0  # OpenAI's range for presence and frequency penalties
MAX_TOKENS = 1_000_000
SEED_LIMIT = 2**32  # llama.cpp's seeds are uint32
MAX_CTX = 1_048_576
MAX_GPU_LAYERS = 4096  # far more layers than any model has; -1 means all of them


THREADS_PER_CORE = 4


def machine_threads() -> int:
    """The most threads accepted: 4 per CPU core of this machine.

    More threads than cores only wait for each other at llama.cpp's barriers, but a config
    shared with a bigger machine should still run; a number far past the machine is a typo
    (10**20 threads aborted inside llama.cpp with std::bad_alloc).
    """
    return THREADS_PER_CORE * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Setting:
    """One setting: its name is the key in config.toml, [params], `/set` and JSON."""

    name: str
    kind: type  # int, float, str, or tuple (a list of non-empty strings)
    default: object
    help: str
    group: str  # SAMPLING or MODEL: the config table and the help panel it belongs to
    low: float | None = None
    high: float | Callable[[], float] | None = None
    low_open: bool = False  # the low bound itself is excluded
    high_open: bool = False
    optional: bool = False  # None is a value (seed: a fresh one; threads: the engine decides)
    short: str | None = None
    note: str = ""  # what a special value means, added to the range rule ("0 turns it off")
    where: frozenset[str] = EVERYWHERE
    label: str = ""  # a short name for the TUI's parameter fields (default: the name)
    example: object = None  # shown in config.toml's template where the default is None or ()
    flag_name: str = ""  # the flag, where it is not --NAME (choices: --choice)

    @property
    def field_label(self) -> str:
        return self.label or self.name.replace("_", " ")

    @property
    def flag(self) -> str:
        return self.flag_name or "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        return (self.flag, self.short) if self.short else (self.flag,)

    def bounds(self) -> tuple[float | None, float | None]:
        """The range, with a machine-dependent upper bound computed now."""
        high = self.high() if callable(self.high) else self.high
        return self.low, high

    def span(self) -> str:
        """The range alone: '(0, 1]', '>= 16', or '' for a setting without one."""
        low, high = self.bounds()
        if low is not None and high is not None:
            return (
                f"{'(' if self.low_open else '['}{_num(low)}, {_num(high)}"
                f"{')' if self.high_open else ']'}"
            )
        if low is not None:
            return f"{'>' if self.low_open else '>='} {_num(low)}"
        if high is not None:
            return f"{'<' if self.high_open else '<='} {_num(high)}"
        return ""

    def rule(self) -> str:
        """The range in words: 'must be in (0, 1] (1 turns it off)', 'must be >= 1'."""
        span = self.span()
        text = ("must be in " if span[:1] in "([" else "must be ") + span if span else ""
        return f"{text} ({self.note})" if self.note and text else text or self.note


def _num(x: float) -> str:
    if x == SEED_LIMIT:
        return "2**32"
    return str(int(x)) if float(x).is_integer() else str(x)


SETTINGS: tuple[Setting, ...] = (
    Setting("temperature", float, 0.8, "0 is greedy.", SAMPLING, 0, MAX_TEMPERATURE, short="-t"),
    Setting("top_k", int, 40, "Sample from the K most likely tokens.", SAMPLING, 0, MAX_TOP_K,
            note="0 turns it off", label="top-k"),
    Setting("top_p", float, 0.95, "Nucleus sampling: the smallest set with this much mass.",
            SAMPLING, 0, 1, low_open=True, note="1 turns it off", label="top-p"),
    Setting("min_p", float, 0.05, "Drop tokens below this share of the top token's probability.",
            SAMPLING, 0, 1, note="0 turns it off", label="min-p"),
    Setting("repeat_penalty", float, 1.0, "Penalise recently seen tokens.", SAMPLING,
            0, MAX_REPEAT_PENALTY, low_open=True, note="1 turns it off", label="repeat pen."),
    Setting("presence_penalty", float, 0.0, "Penalise tokens already present.", SAMPLING,
            -MAX_PENALTY, MAX_PENALTY, label="pres. pen."),
    Setting("frequency_penalty", float, 0.0, "Penalise tokens by how often they occur.",
            SAMPLING, -MAX_PENALTY, MAX_PENALTY, label="freq. pen."),
    Setting("max_tokens", int, 128, "Tokens to generate at most.", SAMPLING, 1, MAX_TOKENS,
            short="-n", label="max tokens"),
    Setting("stop", tuple, (), "Stop sequence (repeatable; \\n is a newline).", SAMPLING,
            example=("\n\n",)),
    Setting("seed", int, None, "Random seed (default: a fresh one, reported so the run can be "
            "repeated).", SAMPLING, 0, SEED_LIMIT, high_open=True, optional=True, example=42),
    Setting("grammar", str, None, "Constrain the output to a GBNF grammar (llama.cpp's): a .gbnf "
            "file or the grammar's text.", SAMPLING, optional=True,
            example='root ::= "yes" | "no"'),
    Setting("json_schema", str, None, "Constrain the output to JSON valid against this JSON "
            "Schema: a .json file or the schema's text (--json-object: any JSON object).",
            SAMPLING, optional=True, example='{"type": "object"}', label="JSON schema"),
    Setting("choices", tuple, (), "The output is exactly one of these strings (one value is split "
            "at commas; or repeat the flag).", SAMPLING, flag_name="--choice",
            example=("positive", "negative")),
    Setting("logit_bias", tuple, (), "Add BIAS to a token's logit: TEXT_OR_ID=BIAS (repeatable; "
            "'ban' or -inf bans the token; digits alone are a token id).", SAMPLING,
            example=(" positive=2", "1234=ban"), label="logit bias"),
    Setting("model", str, "default", "A .gguf path, 'default' (embedded Gemma 3 270M), an alias "
            "from config.toml, OWNER/REPO[:QUANT] on the Hugging Face Hub, or a server's "
            "http://HOST:PORT.", MODEL,
            short="-m", where=frozenset({CONFIG, FLAG, SESSION})),
    Setting("ctx", int, 4096, "Context size in tokens.", MODEL, 16, MAX_CTX,
            where=frozenset({CONFIG, FLAG})),
    Setting("threads", int, None, "CPU threads (default: all cores).", MODEL, 1, machine_threads,
            optional=True, note=f"{THREADS_PER_CORE} per CPU core of this machine",
            where=frozenset({CONFIG, FLAG}), example=4),
    Setting("gpu_layers", int, 0, "Layers to offload to a GPU (-1: all).", MODEL,
            -1, MAX_GPU_LAYERS, note="-1: all layers", where=frozenset({CONFIG, FLAG})),
)  # fmt: skip

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
SAMPLING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.group == SAMPLING)
MODEL_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS if s.group == MODEL)
DEFAULTS: dict[str, object] = {s.name: s.default for s in SETTINGS}
# Settings that each constrain the output on their own: a layer setting one replaces the rest.
CONSTRAINTS: tuple[str, ...] = ("grammar", "json_schema", "choices")


def setting(name: str) -> Setting:
    """The row for ``name`` (KeyError for an unknown one)."""
    return BY_NAME[name]


def names_for(layer: str, group: str | None = None) -> tuple[str, ...]:
    """The settings that may be given in ``layer`` (config, prompt, flag, session)."""
    return tuple(
        s.name for s in SETTINGS if layer in s.where and (group is None or s.group == group)
    )
