"""Accuracy against shots as a PNG, drawn with matplotlib (an optional dependency)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from gptplay.errors import GptplayError
from gptplay.evaluate.report import ShotSummary
from gptplay.fileio import atomic_write


def write_png(path: Path, summaries: Sequence[ShotSummary], baseline: float, title: str) -> None:
    """Plot accuracy (mean, error bar = std over seeds) against shots; write atomically."""
    try:
        import matplotlib
    except ImportError:
        raise GptplayError(
            "--plot needs matplotlib, which is not installed.",
            hint="pip install 'gptplay[plot]' (or pip install matplotlib), or drop --plot.",
        ) from None
    matplotlib.use("Agg")  # no display needed, and never a window
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    try:
        xs = [s.shots for s in summaries]
        ax.errorbar(
            xs,
            [100 * s.accuracy[0] for s in summaries],
            yerr=[100 * s.accuracy[1] for s in summaries],
            marker="o",
            capsize=4,
            label="accuracy",
        )
        cal = [s for s in summaries if s.calibrated is not None]
        if cal:
            ax.errorbar(
                [s.shots for s in cal],
                [100 * s.calibrated[0] for s in cal],
                yerr=[100 * s.calibrated[1] for s in cal],
                marker="s",
                capsize=4,
                label="calibrated",
            )
        ax.axhline(100 * baseline, color="grey", linestyle="--", label="majority class")
        ax.set_xticks(xs)
        ax.set_xlabel("shots (demonstrations in the prompt)")
        ax.set_ylabel("accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    atomic_write(path, buf.getvalue())
