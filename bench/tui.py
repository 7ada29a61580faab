"""Benchmark: streaming into the TUI must cost the model almost nothing.

Same prompt, seed and N tokens (default 256) on the embedded model, in one process:
  (a) the engine on its own: ``engine.stream(...)`` with top-10 alternatives, nothing drawn;
  (b) the same request run from the playground (headless, 120x40): tokens appended to the
      output widget while streaming; the figure is the tok/s the status line shows.
Both are timed between the first and the last token. (a) and (b) alternate over several
repetitions and the medians are compared. Target: b/a >= 0.90.

Both run with the TUI's own thread count (one core fewer than the machine has, unless
--threads says otherwise: the screen needs a core); for reference, (a0) is the engine
alone with every core, the CLI's default.

    python bench/tui.py [--tokens 256] [--reps 3] [--threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time

PROMPT = "Once upon a time, in a small village at the edge of a great forest,"
SEED = 42
TOP = 10


def engine_rate(engine, n: int) -> tuple[int, float]:
    """(a): the engine alone."""
    from gptplay.engine.types import SamplingParams

    engine.reset()
    params = SamplingParams(temperature=0.8, max_tokens=n, seed=SEED)
    done = engine.stream(PROMPT, params, top=TOP).run()
    return done.tokens, done.tokens_per_s


async def tui_rate(engine, n: int) -> tuple[int, float, int]:
    """(b): the playground; returns tokens, the tok/s its status line shows, frames drawn."""
    from gptplay.tui import create_app
    from gptplay.tui.params_panel import ParamsPanel
    from gptplay.tui.token_view import TokenView

    engine.reset()
    app = create_app(lambda model: engine, prompt="translate", top=TOP)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.engine is None:
            await pilot.pause(0.05)
        panel = app.query_one(ParamsPanel)
        for field, value in (("temperature", "0.8"), ("max_tokens", str(n)), ("seed", str(SEED))):
            panel.query_one(f"#p-{field}").value = value
        panel.query_one("#p-stop").value = ""
        await pilot.pause()
        view = app.query_one(TokenView)
        frames = 0
        original = view.append

        def counting(new):
            nonlocal frames
            frames += 1
            original(new)

        view.append = counting
        app.start(PROMPT, fresh=True)
        while app.generating or app.transcript.current.completion is None:
            await pilot.pause(0.05)
        await pilot.pause()
        status = str(app.query_one("#status").render())
        rate = float(re.search(r"([\d.]+) tok/s", status).group(1))
        return app.transcript.current.completion.tokens, rate, frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    args = parser.parse_args()

    from gptplay.cli.tui import screen_threads
    from gptplay.engine.llama import LlamaEngine
    from gptplay.models import embedded_model_path

    threads = args.threads or screen_threads()
    full = LlamaEngine(embedded_model_path(), n_ctx=2048)
    engine_rate(full, 16)
    a0 = statistics.median(engine_rate(full, args.tokens)[1] for _ in range(args.reps))
    del full
    engine = LlamaEngine(embedded_model_path(), n_ctx=2048, n_threads=threads)
    engine_rate(engine, 16)  # warm up: first-call costs belong to neither side
    a_rates, b_rates = [], []
    for rep in range(args.reps):
        t0 = time.perf_counter()
        na, a = engine_rate(engine, args.tokens)
        nb, b, frames = asyncio.run(tui_rate(engine, args.tokens))
        a_rates.append(a)
        b_rates.append(b)
        print(
            f"rep {rep + 1}: (a) engine {na} tokens {a:.1f} tok/s · (b) tui {nb} tokens "
            f"{b:.1f} tok/s in {frames} repaints · {time.perf_counter() - t0:.1f} s"
        )
    a_med, b_med = statistics.median(a_rates), statistics.median(b_rates)
    print(f"threads: {threads} (TUI) · {os.cpu_count()} cores")
    print(f"median tok/s: (a) engine alone {a_med:.1f} · (b) shown in the TUI {b_med:.1f}")
    print(f"ratio b/a: {b_med / a_med:.3f} (target >= 0.90)")
    print(f"(a0) engine alone, every core: {a0:.1f} tok/s · b/a0: {b_med / a0:.3f}")


if __name__ == "__main__":
    main()
