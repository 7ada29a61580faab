"""Running a comparison and printing it: rich columns or rows, a score table, or JSON Lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

from rich.console import Console

from gptplay.compare import Divergence, Variant, VariantResult, divergence, generate, score, view
from gptplay.jsonout import json_line


def variant_head(r: VariantResult) -> dict:
    """The fields every variant record starts with: which variant, its settings, its prompt."""
    v = r.variant
    return {
        "index": v.index,
        "label": v.label,
        "axes": dict(v.axes),
        "settings": dict(v.settings),
        "model": r.model,
        "prompt": v.prompt,
        "prompt_tokens": len(r.prompt_ids),
    }


def variant_record(r: VariantResult) -> dict:
    """A generated variant: its tokens as `complete --json` writes them, then its summary."""
    from gptplay.cli.output import event_json, summary_json

    c = r.completion
    summary = summary_json(c)
    del summary["type"]
    summary.update(
        cached_tokens=c.cached_tokens,
        mean_logprob=r.mean_logprob,
        perplexity=r.perplexity,
    )
    tokens = [event_json(e) for e in c.events]
    return {"type": "variant", **variant_head(r), "tokens": tokens, "summary": summary}


def divergence_record(results: Sequence[VariantResult], div: Divergence | None) -> dict:
    """Where the outputs part (position null when they are identical)."""
    if div is None:
        return {"type": "divergence", "position": None}
    return {
        "type": "divergence",
        "position": div.position,
        "common": div.common,
        "choices": [
            None if c is None else {"text": div.choice_text(k), "bytes": c.hex()}
            for k, c in enumerate(div.choices)
        ],
        "variants": [
            {"index": r.variant.index, "took": taken, "logprobs": list(row)}
            for r, taken, row in zip(results, div.taken, div.logprobs)
        ],
    }


def score_record(r: VariantResult, continuations: Sequence[str]) -> dict:
    """A scored variant: each continuation's total and per-token log-probabilities."""
    return {
        "type": "score",
        **variant_head(r),
        "continuations": [
            {
                "text": text,
                "logprob": view.total(tokens),
                "tokens": [
                    {"id": t.id, "text": t.text, "bytes": t.bytes.hex(), "logprob": t.logprob}
                    for t in tokens
                ],
            }
            for text, tokens in zip(continuations, r.scores)
        ],
    }


def cache_line(results: Sequence[VariantResult]) -> str:
    """How much prompt the KV cache saved across the variants."""
    total = sum(len(r.prompt_ids) for r in results)
    cached = sum(r.completion.cached_tokens for r in results if r.completion)
    n = len(results)
    return (
        f"{n} variant{'s' if n != 1 else ''} · prompt tokens evaluated {total - cached} "
        f"of {total} ({cached} from the KV cache)"
    )


def show(
    variants: Sequence[Variant],
    engine_for: Callable,
    score_texts: Sequence[str] | None,
    *,
    layout: str,
    top: int,
    json_out: bool,
    history_on: bool = False,
) -> None:
    """Run the variants (or score them), record each in the history, print the comparison."""
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    loaded: dict[str, object] = {}
    done, recorded = None, []
    if history_on:
        from gptplay.compare import stored

        group = stored.new_group()

        def done(result: VariantResult, engine) -> None:
            recorded.extend(stored.record(result, engine, group))

    def load(name: str | None):
        loaded.clear()  # one model at a time
        loaded["engine"] = engine_for(name)
        return loaded["engine"]

    if score_texts:
        results = score(variants, load, score_texts, on_done=done)
        if json_out:
            for r in results:
                print(json_line(score_record(r, score_texts)))
            return
        out.print(view.score_table(results, score_texts))
        _recorded(err, recorded, scored=True)
        return
    status = err.status("running the variants…") if err.is_terminal else nullcontext()
    with status:
        results = generate(variants, load, top=top, on_done=done)
    print_results(results, divergence(results, loaded.get("engine")), layout, json_out)
    if not json_out:
        _recorded(err, recorded)


def _recorded(err: Console, ids: list[int], scored: bool = False) -> None:
    if ids:
        again = (
            f"gptplay history show {ids[0]} shows one's scored tokens"
            if scored
            else f"gptplay compare --runs {ids[0]} shows this comparison again"
        )
        err.print(f"[dim]recorded as runs {ids[0]}–{ids[-1]} · {again}[/]", soft_wrap=True)


def print_results(
    results: Sequence[VariantResult], div: Divergence | None, layout: str, json_out: bool
) -> None:
    """The comparison of generated (or reopened) variants: rich columns or rows, or JSON."""
    from gptplay import render

    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    if json_out:
        for r in results:
            print(json_line(variant_record(r)))
        print(json_line(divergence_record(results, div)))
        return
    if out.is_terminal:
        err.print(render.legend())
    out.print(view.comparison(results, div, layout, out.width))
    models = sorted({r.model for r in results})
    err.print(f"[dim]{cache_line(results)} · {', '.join(models)}[/]", soft_wrap=True)
