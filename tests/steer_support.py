"""A scripted engine that answers a constrained run the way the real one reports it.

The real engine (tests/test_structured.py, test_steering.py) gives each token of a run
under a grammar, a schema, choices or a logit bias its constrained probability, marks the
alternatives the constraint ruled out, and says whether the output completed the grammar.
This fake does the same on its scripted replies, so the front ends' plumbing is tested
without the model.
"""

from __future__ import annotations

import math
from dataclasses import replace

from gptplay.engine.base import Stream
from gptplay.engine.fake import FakeEngine
from gptplay.engine.types import TokenEvent

CONSTRAINED_P = 0.9  # every token's probability among what the constraint allowed


def steered(params) -> bool:
    """Whether a run has a constraint (or a bias) the engine reports on."""
    return bool(params.grammar or params.json_schema or params.choices or params.logit_bias)


def steer(event: TokenEvent) -> TokenEvent:
    """The event as under a constraint: its constrained probability; the second
    alternative ruled out, the others allowed."""
    if event.id < 0:
        return event
    top = tuple(replace(a, allowed=n != 1) for n, a in enumerate(event.top))
    return replace(event, top=top, constrained_logprob=math.log(CONSTRAINED_P))


class SteeredFake(FakeEngine):
    """FakeEngine whose constrained runs carry constrained probabilities and verdicts."""

    def stream(self, prompt, params, **kwargs) -> Stream:
        inner = super().stream(prompt, params, **kwargs)
        if not steered(params):
            return inner

        def events():
            for event in inner:
                yield steer(event)

        def finish():
            c = inner.completion
            grammar = params.grammar or params.json_schema or params.choices
            return replace(
                c,
                events=tuple(steer(e) for e in c.events),
                complete=True if grammar else None,
                refused=1 if grammar else 0,
            )

        return Stream(events(), finish, params.json_schema)
