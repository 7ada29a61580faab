"""One run, one result: a seed, settings and prompt give the same tokens and probabilities
whatever the KV cache held before (the canonical prompt layout, engine/kvcache.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from itertools import product
from types import MappingProxyType

import pytest
from tui_support import SIZE, idle, ready, sync, wait_until

from gptplay.chat import ChatSession, ScaffoldFormat
from gptplay.chat.session import retry_seed
from gptplay.compare import Variant, generate
from gptplay.engine.kvcache import CHUNK
from gptplay.engine.types import SamplingParams
from gptplay.library import load_prompt
from gptplay.settings import SettingsStack
from gptplay.settings.layers import Layer
from gptplay.settings.schema import FLAG
from gptplay.tui import create_app
from gptplay.tui.params_panel import ParamsPanel
from gptplay.tui.token_view import TokenView
from tests.conftest import run_cli

pytestmark = pytest.mark.model

TASK = "Translate English to French the way a careful translator would say it aloud. " * 3
DEMOS = [
    ("sea otter", "loutre de mer"),
    ("cheese", "fromage"),
    ("peppermint", "menthe poivrée"),
    ("plush giraffe", "girafe en peluche"),
    ("the cat sleeps", "le chat dort"),
]
INPUTS = ["The weather is nice today", "I like apples", "Where is the station?", "Good night"]
HOT = SamplingParams(temperature=0.9, seed=5, max_tokens=16)  # hot: a sample flips on little


def few_shot(k: int, query: str) -> str:
    return TASK + "\n" + "".join(f"{a} => {b}\n" for a, b in DEMOS[:k]) + f"{query} =>"


def on_its_own(engine, ids: list[int], params: SamplingParams) -> tuple[list[int], list[float]]:
    engine.reset()
    events = [e for e in engine.stream(ids, params, top=3) if e.id >= 0]
    return [e.id for e in events], [e.logprob for e in events]


def assert_same(got, want, what: str) -> None:
    ids, lps = got
    assert ids == want[0], what
    assert max((abs(a - b) for a, b in zip(lps, want[1])), default=0.0) <= 1e-4, what


def test_every_one_of_24_compare_variants_gives_what_it_gives_on_its_own(engine):
    cases = list(product(INPUTS, range(len(DEMOS) + 1)))
    variants = [
        Variant(i, {"input": q, "shots": k}, few_shot(k, q), HOT) for i, (q, k) in enumerate(cases)
    ]
    engine.reset()
    results = generate(variants, lambda model: engine, top=3)
    assert len(results) == 24
    # siblings did reuse each other's cache, past at least one chunk boundary
    assert max(r.completion.cached_tokens for r in results) >= CHUNK
    for r in results:
        got = ([e.id for e in r.events if e.id >= 0], [e.logprob for e in r.events if e.id >= 0])
        assert_same(got, on_its_own(engine, r.prompt_ids, HOT), str(r.variant.axes))


def test_chat_turns_and_a_seeded_retry_give_what_their_prompts_give_on_their_own(engine):
    session = ChatSession(engine, ScaffoldFormat(load_prompt("chat")), HOT, top=3)
    engine.reset()
    seen = []
    for text in ("What is the capital of France?", "And of Spain?", "What do people eat there?"):
        reply = session.send(text)
        list(reply)
        reply.finish()
        seen.append((reply, HOT.seed))
    retried = session.retry()
    list(retried)
    retried.finish()
    seen.append((retried, retry_seed(HOT.seed, 1)))
    assert max(r.completion.cached_tokens for r, _ in seen) >= CHUNK
    for reply, seed in seen:  # the cache is reset only now, after the whole conversation
        params = replace(HOT, seed=seed, stop=session.format.stop)
        got = (
            [e.id for e in reply.completion.events if e.id >= 0],
            [e.logprob for e in reply.completion.events if e.id >= 0],
        )
        assert_same(got, on_its_own(engine, list(reply.prompt.ids), params), reply.prompt.text)


def test_a_prompt_continued_from_its_own_output_is_what_it_gives_on_its_own(engine):
    """Continue (and a TUI branch) decode a prompt that ends in generated tokens."""
    ids = engine.tokenize(few_shot(3, "I like apples"))
    engine.reset()
    first = [e.id for e in engine.stream(ids, HOT, top=3) if e.id >= 0]
    longer = ids + first[:5]  # the cache holds these, decoded one generated token at a time
    got = [e for e in engine.stream(longer, HOT, top=3) if e.id >= 0]
    assert_same(
        ([e.id for e in got], [e.logprob for e in got]), on_its_own(engine, longer, HOT), ""
    )


@sync
async def test_the_tui_run_rerun_and_branch_give_what_their_prompts_give_on_their_own(engine):
    flags = {"temperature": 0.9, "seed": 5, "max_tokens": 16}
    layers = SettingsStack(flags=Layer(FLAG, MappingProxyType(flags)))
    app = create_app(lambda model: engine, layers=layers, prompt="translate")
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press(*"The weather is nice today", "ctrl+r")
        await wait_until(pilot, idle(app), timeout=120)
        view = app.query_one(TokenView)
        first = [e.id for e in view.tokens]
        await pilot.press("ctrl+r")  # the cache now holds the prompt and its output
        await wait_until(pilot, idle(app), timeout=120)
        rerun = [(e.id, e.logprob) for e in view.tokens]
        assert [i for i, _ in rerun] == first
        view.focus()
        await pilot.press("home", "right", "right")
        alt = view.tokens[2].top[1]
        await pilot.press("2")  # branch at the third token: take its runner-up
        await wait_until(pilot, lambda: app.transcript.depth == 1 and idle(app)(), timeout=120)
        branched = [(e.id, e.logprob) for e in view.tokens[3:]]
        params = app.query_one(ParamsPanel).params()
        prompt = list(app.transcript.prompt_ids)
    assert params.seed == 5 and params.temperature == 0.9
    want = on_its_own(engine, prompt, params)
    assert_same(([i for i, _ in rerun], [lp for _, lp in rerun]), want, "rerun")
    ids = prompt + first[:2] + [alt.id]
    want = on_its_own(engine, ids, params)
    assert_same(([i for i, _ in branched], [lp for _, lp in branched]), want, "branch")


def test_the_cli_compare_of_six_shot_counts_gives_what_fewshot_gives_for_each():
    """The issue's own check: compare's one-shot column once differed from fewshot's."""
    query = ("--input", "The weather is nice today", "-t", "0.9", "--seed", "5", "-n", "24")
    shots = "0,1,2,3,4,5"
    out = run_cli("compare", "translate", "--shots", shots, *query, "--json")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    compared = {r["axes"]["shots"]: r["tokens"] for r in records if r["type"] == "variant"}
    assert sorted(compared) == list(range(6))
    for k, tokens in compared.items():
        alone = run_cli("fewshot", "translate", "--shots", str(k), *query, "--json")
        assert alone.returncode == 0, alone.stderr
        mine = [json.loads(line) for line in alone.stdout.splitlines()]
        ids = [r["id"] for r in mine if r["type"] == "token"]
        assert [t["id"] for t in tokens] == ids, k
