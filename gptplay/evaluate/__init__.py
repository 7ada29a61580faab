"""In-context-learning evaluation: label scoring, calibration, metrics. No terminal code here.

API:

- ``resolve_data(source) -> Path``: a local file, or ``OWNER/NAME[:FILE_OR_SPLIT]`` from the
  Hugging Face Hub (cache first). ``load_examples(path, spec, columns) -> list[Example]``
  reads JSON Lines or CSV; ``parse_field_map(["field=column"], spec)`` maps columns.
  Bad data raises ``DataError`` naming the file and line.
- ``LabelScorer(engine, spec).score(demos, fields) -> [LabelScore(label, logprob, tokens)]``:
  every label's summed log-probability after the prompt (``.mean`` per token).
- ``evaluate(scorer, test, pool, EvalConfig(shots, seeds, calibrate, balanced, length_norm),
  runs, progress)`` fills ``runs`` with a ``Run`` per (shots, seed), one prediction at a time.
- ``summarize(runs, labels, metric) -> [ShotSummary(shots, runs, examples, metrics, complete)]``,
  ``to_json(...)``, ``shot_confusion(...)``; ``calibrate``/``content_free_probs`` are the
  contextual-calibration arithmetic.
- A label may be written with words (``spec.words(label)``): ``LabelScore.logprob`` is then
  the log of the words' summed probability, ``LabelScore.words`` each word's own score.
- ``choices.ChoiceScorer(engine, spec).predict(run, i, example)``: each example's own
  options (``Example.choices``, gold ``Example.gold``) scored as continuations; acc and
  acc_norm per character and per token (``choice_metrics``).
- ``generate.Generator(engine, spec, variables, params, samples, metric).predict(...)``:
  generated answers with their tokens' probabilities and the gold answer's log-probability;
  ``textmetrics`` scores them (exact after normalisation, contains, chrF/BLEU by sacrebleu).
- ``arithmetic.parse_generate("2digit-add")`` and ``examples(spec, task, n)``: GPT-3's
  arithmetic problems drawn from a seed, with a disjoint demonstration pool.
"""

from gptplay.evaluate.data import DataError, Example, load_examples, parse_field_map
from gptplay.evaluate.report import ShotSummary, shot_confusion, summarize, to_json
from gptplay.evaluate.run import EvalConfig, Prediction, Run, evaluate, sample_demos, subset
from gptplay.evaluate.score import (
    CONTENT_FREE,
    LabelScore,
    LabelScorer,
    calibrate,
    content_free_probs,
    label_probs,
)
from gptplay.evaluate.source import resolve_data

__all__ = [
    "CONTENT_FREE",
    "DataError",
    "EvalConfig",
    "Example",
    "LabelScore",
    "LabelScorer",
    "Prediction",
    "Run",
    "ShotSummary",
    "calibrate",
    "content_free_probs",
    "evaluate",
    "label_probs",
    "load_examples",
    "parse_field_map",
    "resolve_data",
    "sample_demos",
    "shot_confusion",
    "subset",
    "summarize",
    "to_json",
]
