"""Generation tasks: the model writes an answer after the prompt, scored against the gold one.

Greedy by default (temperature 0), or ``samples`` draws at a temperature, each up to the
prompt's stop sequences. Every output keeps its tokens with their probabilities, and the
gold answer's own log-probability is scored too (as a continuation, as labels are), so
a near miss shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from gptplay.engine.base import Engine
from gptplay.engine.types import SamplingParams
from gptplay.evaluate.data import Example
from gptplay.evaluate.score import PromptScorer
from gptplay.evaluate.textmetrics import corpus_score, normalize, sentence_score
from gptplay.library import PromptSpec, assemble
from gptplay.library.reasoning import DEFAULT_TRIGGER, direct_target, extract, gold_answer, vote

DIRECT, COT = "direct", "cot"  # eval --reasoning: the answer sentence alone, or the chain


@dataclass(frozen=True)
class GenToken:
    """One generated token, its log-probability, and the most likely tokens at its place."""

    id: int
    text: str
    logprob: float | None
    top: tuple[tuple[str, float], ...] = ()
    constrained_logprob: float | None = None  # under a grammar, choices, a schema or a bias


@dataclass(frozen=True)
class Sample:
    """One generated answer: its text (stop sequence excluded), tokens, finish, and score.

    For a chain-of-thought prompt ``answer`` is what its answer_pattern found in the text
    (None: the chain gives no answer, scored 0), and the score is the answer's.
    """

    text: str
    tokens: tuple[GenToken, ...]
    finish: str
    seed: int
    score: float
    answer: str | None = None


@dataclass(frozen=True)
class GenPrediction:
    """One example's generated answers, its gold answer, and the gold's log-probability."""

    index: int
    gold: str
    samples: tuple[Sample, ...]
    gold_logprob: float
    gold_tokens: tuple[tuple[str, float], ...]
    chain: bool = False  # a chain-of-thought prompt: each sample's answer was extracted
    vote: str | None = None  # self-consistency: the majority answer of the samples
    vote_share: float | None = None  # and the share of samples that gave it (None: no vote)
    vote_score: float = 0.0


class Generator(PromptScorer):
    """Generates answers after prompts built from given demonstrations, and scores them."""

    def __init__(
        self,
        engine: Engine,
        spec: PromptSpec,
        variables,
        params: SamplingParams,
        samples: int = 1,
        metric: str = "exact",
        top: int = 3,
        reasoning: str | None = None,
        vote: bool = False,
        trigger: str = DEFAULT_TRIGGER,
    ) -> None:
        super().__init__(engine, spec, variables)
        self.params, self.samples, self.metric, self.top = params, samples, metric, top
        self.pattern = spec.answer_pattern
        self.reasoning, self.vote, self.trigger = reasoning, vote, trigger

    def prompt(self, demos: Sequence[Example], fields) -> str:
        """The prompt; ``direct`` shows each demonstration's answer sentence without its
        reasoning, ``cot`` at zero shots appends the trigger (zero-shot chain of thought)."""
        answer, pattern = self.spec.answer, self.pattern
        shown = [d.as_demo(answer) for d in demos]
        if self.reasoning == DIRECT and pattern:
            shown = [{**d, answer: direct_target(pattern, d[answer])} for d in shown]
        trigger = self.trigger if self.reasoning == COT and not demos else ""
        variables = self.variables_for(fields)
        return assemble(self.spec, shown, fields, variables, trigger=trigger).text

    def predict(self, run, index: int, example: Example) -> GenPrediction:
        # the samples share the prompt: stream_many decodes it once and the N chains
        # together, one batch per step (engine/multi.py; bench/self_consistency.py)
        context = self.engine.tokenize(self.prompt(run.demos, example.fields))
        gold_text = example.label
        if self.pattern:  # the gold chain's answer sentence, not its reasoning
            gold_text = direct_target(self.pattern, example.label)
        gold = gold_answer(self.pattern, example.label)
        gold_scored = self.engine.score_choices(context, [self.continuation_ids(gold_text)])[0]
        seeds = [sample_seed(run.shots, run.seed, index, n) for n in range(self.samples)]
        many = getattr(self.engine, "stream_many", None)
        if many is not None and len(seeds) > 1:  # one prompt decode, the chains batched
            done = many(context, self.params, seeds, top=self.top)
            samples = [self._sample(d, gold) for d in done]
        else:
            samples = [self._generate(context, gold, seed) for seed in seeds]
        pred = GenPrediction(
            index,
            gold,
            tuple(samples),
            sum(t.logprob or 0.0 for t in gold_scored),
            tuple((t.text, t.logprob or 0.0) for t in gold_scored),
            chain=bool(self.pattern),
        )
        if not self.vote:
            return pred
        majority, share = vote([s.answer for s in samples], key=normalize)
        score = 0.0 if majority is None else sentence_score(self.metric, majority, gold)
        return replace(pred, vote=majority, vote_share=share, vote_score=score)

    def _generate(self, context: list[int], gold: str, seed: int) -> Sample:
        stream = self.engine.stream(context, replace(self.params, seed=seed), top=self.top)
        return self._sample(stream.run(), gold)

    def _sample(self, done, gold: str) -> Sample:
        """A finished completion as a scored sample (its answer extracted for a chain)."""
        seed = done.seed
        tokens = [
            GenToken(
                e.id,
                e.text,
                e.logprob,
                tuple((a.text, a.logprob) for a in e.top),
                e.constrained_logprob,
            )
            for e in done.events
            if e.id >= 0  # id -1 carries only the tail of an unfinished UTF-8 character
        ]
        if not self.pattern:
            score = sentence_score(self.metric, done.text, gold)
            return Sample(done.text, tuple(tokens), done.finish_reason, seed, score)
        found = extract(self.pattern, done.text)
        answer = None if found is None else found.answer
        score = 0.0 if answer is None else sentence_score(self.metric, answer, gold)
        return Sample(done.text, tuple(tokens), done.finish_reason, seed, score, answer)


def sample_seed(shots: int, seed: int | None, index: int, n: int) -> int:
    """A fixed seed per (run, example, sample): reruns draw the same answers."""
    return (((shots * 1000 + (seed or 0)) * 100_003 + index) * 101 + n) % 2**32


def generation_metrics(predictions: Sequence[GenPrediction], metric: str) -> dict[str, float]:
    """The metric over every sample; with several samples, also the best sample per example.

    A chain-of-thought prompt adds ``answered`` (the share of samples whose answer the
    pattern found); self-consistency (``--vote``) puts ``vote`` (the majority answer's
    score) first, and ``vote_share`` (the majority's mean share of the samples).
    """
    # a chain is scored by the answer it gives; one that gives none by nothing (0)
    outputs = [(s.answer or "") if p.chain else s.text for p in predictions for s in p.samples]
    golds = [p.gold for p in predictions for _ in p.samples]
    out = {metric: corpus_score(metric, outputs, golds)}
    if predictions and predictions[0].vote_share is not None:  # self-consistency leads
        out = {"vote": sum(p.vote_score for p in predictions) / len(predictions), **out}
        out["vote_share"] = sum(p.vote_share or 0.0 for p in predictions) / len(predictions)
    if predictions and predictions[0].chain:
        answered = [s.answer is not None for p in predictions for s in p.samples]
        out["answered"] = sum(answered) / len(answered)
    if predictions and len(predictions[0].samples) > 1:
        best = [max(s.score for s in p.samples) for p in predictions]
        out["best_of_n"] = sum(best) / len(best)
    n = len(predictions) or 1
    out["gold_logprob"] = sum(p.gold_logprob for p in predictions) / n
    return out
