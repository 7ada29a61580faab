"""From `gptplay compare`'s flags to the variants: axes, crossing, one composed prompt each."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace

from gptplay.compare import Axis, Variant, cross, label_of, parse_list
from gptplay.errors import UsageError

# (setting, flag, type): the sampling settings that take a comma-separated list of values.
LIST_SETTINGS: tuple[tuple[str, str, type], ...] = (
    ("temperature", "--temperature", float),
    ("top_k", "--top-k", int),
    ("top_p", "--top-p", float),
    ("min_p", "--min-p", float),
    ("repeat_penalty", "--repeat-penalty", float),
    ("presence_penalty", "--presence-penalty", float),
    ("frequency_penalty", "--frequency-penalty", float),
    ("max_tokens", "--max-tokens", int),
)


@dataclass(frozen=True)
class Request:
    """What the user asked to compare, as parsed flags (lists still as typed)."""

    tasks: tuple[str, ...]
    text: str | None
    shots: str | None
    variables: tuple[str, ...]
    sampling: dict[str, str]  # setting -> the flag's text, for the flags given
    models: str | None
    samples: int
    seed: int | None
    select: str
    library: str | None
    stop: list[str] | None


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
    """Every axis the flags name, the prompt axes first and the sample last."""
    axes = [Axis("task", tuple(dict.fromkeys(req.tasks)))]
    axes.append(Axis("shots", parse_list("--shots", req.shots, int) if req.shots else (3,)))
    if any(k < 0 for k in axes[-1].values):
        raise UsageError(f"--shots {req.shots!r}: a shot count is 0 or more.")
    axes += var_axes(req.variables)
    for name, flag, kind in LIST_SETTINGS:
        if name in req.sampling:
            axes.append(Axis(name, parse_list(flag, req.sampling[name], kind)))
    if req.models:
        axes.append(Axis("model", parse_list("--model", req.models, str)))
    if req.samples < 1:
        raise UsageError(f"--samples {req.samples} is out of range: must be >= 1.")
    axes.append(Axis("sample", tuple(range(1, req.samples + 1))))
    return axes


def build(req: Request) -> list[Variant]:
    """One variant per combination: its prompt composed and its sampling settings resolved.

    Without --seed every variant still shares one fresh seed (sample i: seed + i - 1), so
    variants differ by what was varied, not by the luck of the draw.
    """
    from gptplay.cli.fewshot_run import FewshotRun

    axes = axes_of(req)
    base_seed = req.seed if req.seed is not None else random.SystemRandom().randrange(2**31)
    variants = []
    for n, values in enumerate(cross(axes)):
        fixed = {a.name[4:]: values[a.name] for a in axes if a.name.startswith("var:")}
        given = {name: values[name] for name, _, _ in LIST_SETTINGS if name in values}
        run = FewshotRun(
            task=values["task"],
            text=req.text,
            values=fixed,
            shots=values["shots"],
            select=req.select,
            seed=req.seed,
            library=req.library,
            given=given,
            stop=req.stop,
        )
        run.prepare()
        seed = run.params.seed if run.params.seed is not None else base_seed
        params = replace(run.params, seed=(seed + values["sample"] - 1) % 2**32)
        model = values.get("model")
        settings = {
            "task": run.spec.name,
            "shots": run.composed.shots,
            "variables": dict(run.composed.variables),
            "model": model,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(params).items()},
        }
        variants.append(
            Variant(n, values, run.composed.text, params, model, label_of(values, axes), settings)
        )
    return variants
