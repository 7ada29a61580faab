"""From `gptplay compare`'s flags to the variants: axes, crossing, one composed prompt each."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from gptplay.cli.compare_flags import MAX_VARIANTS, constraint_value, given_lists
from gptplay.cli.compare_flags import REPEATED_NAMES as REPEATED
from gptplay.cli.options import Flags
from gptplay.compare import Axis, Variant, check_count, cross, label_of, parse_list
from gptplay.errors import UsageError
from gptplay.settings import Resolved


@dataclass(frozen=True)
class Request:
    """What the user asked to compare, as parsed flags (lists still as typed)."""

    tasks: tuple[str, ...]
    text: str | None
    shots: str | None
    variables: tuple[str, ...]
    lists: dict[str, str]  # setting -> the list flag's text, for the list flags given
    samples: int
    select: str
    library: str | None
    flags: Flags = field(default_factory=Flags)  # the single-valued settings flags
    max_variants: int = MAX_VARIANTS
    allow_query: bool = False  # --allow-query-in-demos


@dataclass(frozen=True)
class Built:
    """The variants, and the resolved settings each one loads its model with."""

    variants: list[Variant]
    settings: list[Resolved]
    note: str | None = None  # an example equal to the query left out of some variant


def var_axes(pairs: tuple[str, ...]) -> list[Axis]:
    """--var KEY=V1,V2 as an axis per key (a single value is an axis that does not vary)."""
    axes = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not KEY=VALUE.", hint="like --var lang=fr,de")
        axes.append(Axis(f"var:{key.strip()}", parse_list(f"--var {key.strip()}", value, str)))
    return axes


def axes_of(req: Request) -> list[Axis]:
    """Every axis the flags name, the prompt axes first and the sample last (counted, capped)."""
    axes = [Axis("task", tuple(dict.fromkeys(req.tasks)))]
    axes.append(Axis("shots", parse_list("--shots", req.shots, int) if req.shots else (3,)))
    if any(k < 0 for k in axes[-1].values):
        raise UsageError(f"--shots {req.shots!r}: a shot count is 0 or more.")
    axes += var_axes(req.variables)
    axes += [Axis(name, values) for name, values in given_lists(req.lists).items()]
    if req.samples < 1:
        raise UsageError(f"--samples {req.samples} is out of range: must be >= 1.")
    axes.append(Axis("sample", range(1, req.samples + 1)))  # a range: nothing allocated
    check_count(axes, req.max_variants)
    return axes


def build(req: Request) -> Built:
    """One variant per combination: its prompt composed and its settings resolved.

    Each variant's settings are resolved as `gptplay fewshot` resolves them (default <
    config.toml < the prompt's [params] < flags), its axis values being its flags. Without
    --seed every variant shares one fresh seed (sample i: seed + i - 1), so variants differ
    by what was varied, not by the luck of the draw.
    """
    from gptplay.cli.fewshot_run import FewshotRun

    axes = axes_of(req)
    listed = {a.name for a in axes} & set(req.lists)
    base_seed = random.SystemRandom().randrange(2**31)
    variants, settings = [], []
    note = None
    for n, values in enumerate(cross(axes)):
        fixed = {a.name[4:]: values[a.name] for a in axes if a.name.startswith("var:")}
        given = {**req.flags.given, **{name: values[name] for name in listed - set(REPEATED)}}
        for name in listed & set(REPEATED):  # a constraint axis: as typed, read per variant
            given.update(constraint_value(name, values[name]))
        run = FewshotRun(
            task=values["task"],
            text=req.text,
            values=fixed,
            shots=values["shots"],
            select=req.select,
            library=req.library,
            flags=Flags(given, req.flags.loader),
            allow_query=req.allow_query,
        )
        run.prepare()
        note = note or run.composed.left_out_note()
        seed = run.params.seed if run.params.seed is not None else base_seed
        params = replace(run.params, seed=(seed + values["sample"] - 1) % 2**32)
        resolved = run.settings.with_params(params, source="compare")
        record = {
            "task": run.spec.name,
            "shots": run.composed.shots,
            "variables": dict(run.composed.variables),
            **resolved.as_dict(),
        }
        model = str(resolved["model"])
        label = label_of(values, axes)
        variants.append(Variant(n, values, run.composed.text, params, model, label, record))
        settings.append(resolved)
    return Built(variants, settings, note)
