"""Benchmark: a chat turn costs only its new tokens (the conversation stays in the KV cache).

Ten scripted turns on the embedded model through the `chat` dialogue scaffold, greedy, the
same replies every run. For each turn, the time to first token (the prompt's evaluation
plus one token). In the same run, the baseline: turn 10's prompt evaluated from an empty
cache. Prints both ratios. Target: turn 10 / turn 1 <= 1.5.

    python bench/chat.py [--reps 3] [--max-tokens 24]
"""

from __future__ import annotations

import argparse
import statistics

MESSAGES = [
    "Hello, who are you?",
    "What is the capital of France?",
    "And the capital of Spain?",
    "How many legs does a cat have?",
    "What colour is the sky on a clear day?",
    "Name a fruit that is yellow.",
    "What is two plus three?",
    "Which planet do we live on?",
    "What do bees make?",
    "Thank you! What is the largest ocean?",
]


def run(engine, max_tokens: int) -> tuple[list[float], list[int], list[int], tuple[int, ...]]:
    """One conversation from an empty cache: per-turn TTFT, prompt and cached token counts."""
    from gptplay.chat import ChatSession, ScaffoldFormat
    from gptplay.engine.types import SamplingParams
    from gptplay.library import load_prompt

    engine.reset()
    params = SamplingParams(temperature=0, max_tokens=max_tokens, seed=1)
    session = ChatSession(engine, ScaffoldFormat(load_prompt("chat")), params, top=5)
    ttft, prompt, cached = [], [], []
    for text in MESSAGES:
        reply = session.send(text)
        reply.finish()
        c = reply.completion
        ttft.append(c.time_to_first_token_s)
        prompt.append(c.prompt_tokens)
        cached.append(c.cached_tokens)
    return ttft, prompt, cached, session.last_prompt.ids


def fresh(engine, ids: tuple[int, ...]) -> float:
    """Baseline: the same last prompt with nothing cached."""
    from gptplay.engine.types import SamplingParams

    engine.reset()
    params = SamplingParams(temperature=0, max_tokens=1, seed=1)
    stream = engine.stream(list(ids), params, top=5)
    return stream.run().time_to_first_token_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=24)
    args = parser.parse_args()

    from gptplay.engine.llama import LlamaEngine
    from gptplay.models import embedded_model_path

    engine = LlamaEngine(embedded_model_path(), n_ctx=4096)
    runs = [run(engine, args.max_tokens) for _ in range(args.reps)]
    baseline = [fresh(engine, runs[0][3]) for _ in range(args.reps)]
    ttft = [statistics.median(r[0][i] for r in runs) for i in range(len(MESSAGES))]
    _, prompt, cached, _ = runs[0]
    print(f"embedded model, {len(MESSAGES)} turns, median of {args.reps} runs")
    print("turn  prompt tokens  cached  evaluated  first token")
    for i in range(len(MESSAGES)):
        evaluated = prompt[i] - cached[i]
        print(f"{i + 1:>4}  {prompt[i]:>13}  {cached[i]:>6}  {evaluated:>9}  {ttft[i]:>9.3f} s")
    base = statistics.median(baseline)
    print(f"turn 10 prompt from an empty cache (baseline): {base:.3f} s")
    print(f"turn 10 / turn 1 first-token time: {ttft[-1] / ttft[0]:.2f}x (target <= 1.5x)")
    print(f"turn 10 cached / uncached: {ttft[-1] / base:.2f}x")


if __name__ == "__main__":
    main()
