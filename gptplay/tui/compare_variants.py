"""The Compare tab's variants, built from the Playground's composition and parameters.

No Textual here. Each variant keeps its recipe (a composition and its parameters), so
Enter on its column can send it back to the Playground.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from gptplay.compare import Axis, Variant, label_of, parse_list
from gptplay.engine.types import SamplingParams
from gptplay.errors import UsageError
from gptplay.library import Library, PromptError
from gptplay.tui.composition import Composition

# axis name -> (what the user types, how one value is read)
AXES: dict[str, tuple[str, type]] = {
    "shots": ("shot counts, e.g. 0,1,3", int),
    "temperature": ("temperatures, e.g. 0,0.8", float),
    "task": ("library prompts, e.g. translate,translate-zh", str),
    "model": ("models: current (the one loaded), a .gguf path, an alias", str),
}
MAX_VARIANTS = 4


@dataclass(frozen=True)
class Recipe:
    """What a variant runs, as the Playground holds it."""

    composition: Composition
    params: SamplingParams
    model: str | None = None


def copy_of(comp: Composition) -> Composition:
    """An independent composition over the same (immutable) spec."""
    return replace(
        comp,
        order=list(comp.order),
        included=set(comp.included),
        query=dict(comp.query),
        variables=dict(comp.variables),
    )


def _carry_query(base: Composition, other: Composition) -> Composition:
    """Another prompt with the base's query and variables where the names match."""
    for name in other.query:
        if name in base.query:
            other.query[name] = base.query[name]
    for name in other.variables:
        if name in base.variables:
            other.variables[name] = base.variables[name]
    return other


def recipe_for(
    axis: str, value: object, base: Composition, params: SamplingParams, library: Library
) -> Recipe:
    """The base composition and parameters with one axis set to ``value``."""
    comp = copy_of(base)
    if axis == "shots":
        if value > len(comp.order):
            raise UsageError(
                f"shots {value}: prompt '{comp.spec.name}' has {len(comp.order)} examples."
            )
        comp.set_shots(value)
        return Recipe(comp, params)
    if axis == "temperature":
        return Recipe(comp, replace(params, temperature=value))
    if axis == "task":
        spec = library.load(value)
        return Recipe(_carry_query(base, Composition.of(spec, base.shots)), params)
    return Recipe(comp, params, model=value)  # "current": the model already loaded


def check_query(comp: Composition) -> None:
    """The CLI's rule: no variant runs with an empty query field."""
    try:
        comp.spec.check_query(comp.query)
    except PromptError as exc:
        exc.hint = "type it in the Playground's Query field (Ctrl+E goes there)."
        raise


def build(
    axis: str, text: str, base: Composition, params: SamplingParams, library: Library
) -> tuple[list[Variant], list[Recipe]]:
    """2 to 4 variants along one axis (a UsageError says what is wrong with the values)."""
    if axis not in AXES:
        raise UsageError(f"cannot compare by {axis!r} (one of: {', '.join(AXES)}).")
    hint, kind = AXES[axis]
    values = parse_list(axis, text, kind)
    if not 2 <= len(values) <= MAX_VARIANTS:
        raise UsageError(f"{axis}: give 2 to {MAX_VARIANTS} values ({hint}).")
    axes = [Axis(axis, values)]
    if params.seed is None:  # one seed for all, so they differ only by what was varied
        params = replace(params, seed=random.SystemRandom().randrange(2**31))
    variants, recipes = [], []
    for n, value in enumerate(values):
        recipe = recipe_for(axis, value, base, params, library)
        check_query(recipe.composition)
        prompt = recipe.composition.compose().text
        settings = {"task": recipe.composition.spec.name, "shots": recipe.composition.shots}
        axis_values = {axis: value}
        variants.append(
            Variant(
                n,
                axis_values,
                prompt,
                recipe.params,
                recipe.model,
                label_of(axis_values, axes),
                settings,
            )
        )
        recipes.append(recipe)
    return variants, recipes
