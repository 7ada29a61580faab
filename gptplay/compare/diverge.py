"""Where the variants' outputs part: the first differing token and everyone's odds of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gptplay.compare.run import VariantResult
from gptplay.engine.base import Engine

END = None  # the choice "the output ended here"


@dataclass(frozen=True)
class Divergence:
    """The first position where not every variant produced the same token.

    ``choices`` are the distinct tokens produced there (by their bytes, so outputs of
    different models compare too; ``None``: a variant's output ended), ``taken[v]`` is the
    choice variant ``v`` made, and ``logprobs[v][c]`` its log-probability of choice ``c``
    (None where it is unknown: outside the variant's top alternatives and not scored).
    """

    position: int
    common: str
    choices: tuple[bytes | None, ...]
    taken: tuple[int, ...]
    logprobs: tuple[tuple[float | None, ...], ...]

    def choice_text(self, c: int) -> str:
        data = self.choices[c]
        return "(end)" if data is None else data.decode("utf-8", "backslashreplace")


def _first_difference(seqs: Sequence[Sequence]) -> int | None:
    """The first index where the token sequences differ; None when they are identical."""
    p = 0
    while all(len(s) > p for s in seqs) and len({s[p].bytes for s in seqs}) == 1:
        p += 1
    return None if all(len(s) == p for s in seqs) else p


def divergence(results: Sequence[VariantResult], engine: Engine | None = None) -> Divergence | None:
    """The divergence point of two or more generated outputs (None when they are identical).

    A probability that is not among a variant's top alternatives is scored with ``engine``
    when one is given and every variant ran on it (the KV cache makes that a few tokens).
    """
    seqs = [r.events for r in results]
    if len(seqs) < 2:
        return None
    p = _first_difference(seqs)
    if p is None:
        return None
    choices: list[bytes | None] = []
    ids: dict[bytes, int] = {}
    for s in seqs:
        data = s[p].bytes if len(s) > p else END
        if data not in choices:
            choices.append(data)
        if data is not END:
            ids.setdefault(data, s[p].id)
    same_model = engine is not None and all(r.model == engine.model_name for r in results)
    table = []
    for r, s in zip(results, seqs):
        known = {a.bytes: a.logprob for a in s[p].top} if len(s) > p else {}
        if len(s) > p and s[p].logprob is not None:
            known[s[p].bytes] = s[p].logprob
        row = [None if c is END else known.get(c) for c in choices]
        missing = [k for k, c in enumerate(choices) if c is not END and row[k] is None]
        if missing and same_model:
            context = r.prompt_ids + [e.id for e in s[:p]]
            scored = engine.score_choices(context, [[ids[choices[k]]] for k in missing])
            for k, tokens in zip(missing, scored):
                row[k] = tokens[0].logprob
        table.append(tuple(row))
    taken = tuple(choices.index(s[p].bytes if len(s) > p else END) for s in seqs)
    common = "".join(e.text for e in seqs[0][:p])
    return Divergence(p, common, tuple(choices), taken, tuple(table))
