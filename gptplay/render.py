"""Rich rendering of a token stream shaded by probability. No terminal I/O here: it builds Text."""

from __future__ import annotations

import math
import os
from collections.abc import Collection

from rich.table import Table
from rich.text import Text

from gptplay.engine.types import Completion, ScoredToken, TokenEvent
from gptplay.errors import GptplayError
from gptplay.secrets import escape_controls, redact

# (lower bound of probability, style): the OpenAI Playground's idea. Each colour is one of
# the 256-colour palette's own (a 256-colour terminal shows it exactly) and each falls to a
# different one of the 16 basic colours (green, cyan, yellow, red, magenta), so the five
# bands stay five in truecolor, 256 and 16 colours (tests/test_render.py checks both).
BANDS: tuple[tuple[float, str], ...] = (
    (0.80, "on #005f00"),  # 256: 22, 16: green
    (0.50, "on #00875f"),  # 256: 29, 16: cyan
    (0.20, "on #875f00"),  # 256: 94, 16: yellow
    (0.05, "on #870000"),  # 256: 88, 16: red
    (0.00, "on #af005f"),  # 256: 125, 16: magenta
)
LABELS = ("≥80%", "50–80%", "20–50%", "5–20%", "<5%")
# Under NO_COLOR (no-color.org) colours are dropped; text attributes take their place.
NO_COLOR_BANDS = ("", "dim", "underline", "bold underline", "reverse")
NO_COLOR_NAMES = ("plain", "dim", "underlined", "bold underlined", "reversed")


def no_color() -> bool:
    """Whether the user asked for no colour (NO_COLOR set and not empty)."""
    return bool(os.environ.get("NO_COLOR"))


def prob_style(logprob: float | None) -> str:
    """The style for a token of this log-probability ('' when unknown)."""
    if logprob is None:
        return ""
    styles = NO_COLOR_BANDS if no_color() else tuple(style for _, style in BANDS)
    p = math.exp(logprob)
    for (low, _), style in zip(BANDS, styles):
        if p >= low:
            return style
    return styles[-1]


def legend() -> Text:
    """One line that explains the shading (under NO_COLOR, what stands in for it)."""
    if no_color():
        text = Text("probability (NO_COLOR: attributes for colours): ", style="")
        for style, label, name in zip(NO_COLOR_BANDS, LABELS, NO_COLOR_NAMES):
            text.append(f"{label} {name}", style=style)
            text.append("  ")
        return text
    text = Text("probability: ", style="dim")
    for (_, style), label in zip(BANDS, LABELS):
        text.append(f" {label} ", style=style)
        text.append(" ")
    return text


def token_text(event: TokenEvent, shade: bool = True) -> Text:
    """One event's text, shaded by its probability (terminal control characters escaped)."""
    return Text(escape_controls(event.text), style=prob_style(event.logprob) if shade else "")


def visible(piece: str) -> str:
    """A token piece with whitespace made visible, for tables."""
    return escape_controls(piece.replace(" ", "·").replace("\n", "↵").replace("\t", "→"))


def pct(logprob: float | None) -> str:
    return "" if logprob is None else f"{100 * math.exp(logprob):.1f}%"


def alternatives_table(events: list[TokenEvent] | tuple[TokenEvent, ...], k: int) -> Table:
    """Each generated token with its probability and its top-k alternatives.

    Tokens that carry a post-sampler probability (``--sampled``) get a second column,
    ``sampled``: the token's probability in the distribution it was drawn from.
    """
    sampled = any(e.sampled_logprob is not None for e in events)
    constrained = any(e.constrained_logprob is not None for e in events)
    title = "Top alternatives" if k else "Tokens"
    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("token")
    table.add_column("p", justify="right")
    if constrained:
        table.add_column("constrained", justify="right")
    if sampled:
        table.add_column("sampled", justify="right")
    for i in range(k):
        table.add_column(f"alt {i + 1}")
    for n, event in enumerate(e for e in events if e.id >= 0):
        cells = [_alt_cell(a, event.id) for a in event.top[:k]]
        cells += [Text("")] * (k - len(cells))
        table.add_row(
            str(n + 1),
            Text(
                visible(event.bytes.decode("utf-8", "backslashreplace")),
                style=prob_style(event.logprob),
            ),
            pct(event.logprob),
            *([pct(event.constrained_logprob)] if constrained else []),
            *([pct(event.sampled_logprob)] if sampled else []),
            *cells,
        )
    if constrained:
        table.caption = "p: the model's own; constrained: after the grammar and logit bias, "
        table.caption += "among the tokens they allow; ✗: an alternative they ruled out"
    return table


def _alt_cell(a, chosen: int) -> Text:
    """An alternative and its probability; struck out where a grammar refused it."""
    style = "bold" if a.id == chosen else "strike dim" if a.allowed is False else ""
    mark = " ✗" if a.allowed is False else ""
    return Text(f"{visible(a.text)} {pct(a.logprob)}{mark}", style=style)


def plural(n: int, word: str) -> str:
    """'1 token', '2 tokens'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def rate(completion, digits: int = 1) -> str:
    """'12.3 tok/s'; '– tok/s' where a run has no rate (one token: no time between tokens)."""
    tps = completion.tokens_per_s
    return f"{tps:.{digits}f} tok/s" if tps > 0 else "– tok/s"


def shown(message: str) -> str:
    """A message as it may reach a terminal: keys masked, control characters escaped."""
    return escape_controls(redact(message))


def error_text(exc: GptplayError) -> Text:
    """A domain error as every front end shows it: 'error: …' and, under it, the hint."""
    text = Text("error: ", style="bold red") + Text(shown(exc.message))
    if exc.hint:
        text.append(f"\nhint: {shown(exc.hint)}", style="dim")
    return text


def summary_line(c: Completion) -> Text:
    """Tokens, speed, first-token latency, finish reason and seed of a finished run."""
    ttft = "–" if c.time_to_first_token_s is None else f"{c.time_to_first_token_s:.2f} s"
    return Text(
        f"{plural(c.tokens, 'token')}{unshown_note(c)} · {rate(c)} · first token {ttft} · "
        f"prompt {plural(c.prompt_tokens, 'token')} · finish: {c.finish_reason} · seed {c.seed} · "
        f"{c.model}{constraint_note(c)}",
        style="dim",
    )


def unshown_note(c: Completion) -> str:
    """' (+2 in the stop sequence)': tokens sampled that the output does not show."""
    if not c.unshown:
        return ""
    where = "in the stop sequence" if c.finish_reason == "stop" else "not shown"
    return f" (+{c.unshown} {where})"


def constraint_note(c: Completion) -> str:
    """' · grammar: complete' (or incomplete, with how often it refused the model's draw),
    and under a JSON schema whether the text validates against it."""
    note = ""
    if c.complete is not None:  # None: no grammar, or a server that cannot tell
        word = "complete" if c.complete else "incomplete (cut before the grammar's end)"
        refused = f", refused {plural(c.refused, 'draw')}" if c.refused else ""
        note = f" · grammar: {word}{refused}"
    if c.schema_valid is not None:
        note += " · JSON: valid" if c.schema_valid else f" · JSON: invalid ({c.schema_problem})"
    return note


def scored_tokens_table(
    tokens: list[ScoredToken], k: int, probs: bool = True, control: Collection[int] = ()
) -> Table:
    """The tokens of a text with their ids and, when scored, their probabilities.

    ``control`` tokens (BOS) stand for no bytes of the text: their piece is their name.
    """
    table = Table(header_style="bold")
    table.add_column("#", justify="right", style="dim")
    table.add_column("id", justify="right")
    table.add_column("piece")
    table.add_column("bytes", style="dim")
    if probs:
        table.add_column("p", justify="right")
        table.add_column("logprob", justify="right")
    for i in range(k):
        table.add_column(f"alt {i + 1}")
    for n, tok in enumerate(tokens):
        alts = [Text(f"{visible(a.text)} {pct(a.logprob)}") for a in tok.top[:k]]  # not markup
        alts += [""] * (k - len(alts))
        lp = "" if tok.logprob is None else f"{tok.logprob:.3f}"
        is_control = tok.id in control
        table.add_row(
            str(n),
            str(tok.id),
            Text(visible(tok.text), style="italic" if is_control else prob_style(tok.logprob)),
            "(control)" if is_control else tok.bytes.hex(" "),
            *([pct(tok.logprob), lp] if probs else []),
            *alts,
        )
    return table


def chain_answer(chain, pattern: str) -> Text:
    """A chain of thought's extracted answer, its tokens shaded with their probabilities."""
    text = Text("answer ", style="bold")
    if chain.found is None:
        text.append("none", style="yellow")
        text.append(f"  (answer_pattern {pattern!r} finds no answer in the chain)", style="dim")
        return text
    text.append(chain.found.answer, style="bold green")
    text.append("  tokens ", style="dim")
    for i, (piece, logprob) in enumerate(chain.tokens):
        if i:
            text.append(" ")
        text.append(visible(piece), style=prob_style(logprob))
        text.append(f" {pct(logprob)}", style="dim")
    if chain.logprob is not None:
        text.append(f"  · answer p {pct(chain.logprob)}", style="dim")
    return text
