"""`gptplay eval` of chain-of-thought prompts: direct vs cot, self-consistency, GSM8K data."""

import json

import pytest

from gptplay.engine.fake import FakeEngine
from tests.cli_support import invoke
from tests.conftest import run_cli

GEN = ["--generate", "word-problems", "--limit", "3", "--shots", "0,1", "--seeds", "1"]


def chains(engine: FakeEngine, answers: list[str]) -> None:
    for a in answers:
        engine.enqueue([" so", " The answer is", f" {a}", "."] if a else [" hmm"])


def prompt_text(ids: list[int]) -> str:
    return bytes(t - 1 for t in ids[1:]).decode()


def test_direct_and_cot_run_side_by_side_on_the_same_problems(tmp_path):
    engine = FakeEngine(n_ctx=4096)
    out = tmp_path / "r.json"
    ran = invoke("eval", "word-problems", *GEN, "--reasoning", "direct,cot", "-o", str(out),
                 engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    assert "word-problems direct" in ran.stdout and "word-problems cot" in ran.stdout
    # 2 prompts x 2 shot counts x 3 problems; the fake's default reply gives no answer
    prompts = [prompt_text(p) for p in engine.prompts]
    assert len(prompts) == 12
    direct_one_shot, cot_zero, cot_one_shot = prompts[3], prompts[6], prompts[9]
    assert direct_one_shot.startswith("Q: ") and "\nA: The answer is " in direct_one_shot
    assert " = " not in direct_one_shot.split("\n\n")[0]  # the demonstration lost its chain
    assert cot_zero.endswith("A: Let's think step by step.")
    assert " = " in cot_one_shot.split("\n\n")[0] and not cot_one_shot.endswith("step.")
    record = json.loads(out.read_text())
    names = [p["task"] for p in record["prompts"]]
    assert len(names) == 2 and all(p["runs"][0]["answered"] == 0 for p in record["prompts"])
    sample = record["prompts"][0]["runs"][0]["predictions"][0]["samples"][0]
    assert sample["answer"] is None and sample["score"] == 0


def test_self_consistency_votes_over_the_samples(tmp_path):
    engine = FakeEngine(n_ctx=4096)
    problems = __import__("gptplay.evaluate.wordproblems", fromlist=["x"]).WordProblems()
    golds = [str(a) for _, _, a in problems.problems(2, 0)]
    # problem 1: two of three chains right; problem 2: one right, two agree on a wrong one
    chains(engine, [golds[0], "999", golds[0], "1", golds[1], "1"])
    out = tmp_path / "r.json"
    ran = invoke("eval", "word-problems", "--generate", "word-problems", "--limit", "2",
                 "--shots", "0", "--samples", "3", "--vote", "--temperature", "0.7",
                 "-o", str(out), engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    run = json.loads(out.read_text())["runs"][0]
    assert run["vote"] == 0.5 and run["exact"] == pytest.approx(3 / 6)
    assert run["vote_share"] == pytest.approx(2 / 3) and run["best_of_n"] == 1.0
    first, second = run["predictions"]
    assert (first["vote"], second["vote"]) == (golds[0], "1")
    assert "vote against shots" in ran.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--samples", "3", "--vote"], "--samples 3 at temperature 0"),
        (["--vote"], "--vote needs several chains"),
        (["--reasoning", "both"], "--reasoning 'both' is not direct, cot or both"),
    ],
)
def test_bad_reasoning_options_are_one_line(args, message):
    ran = invoke("eval", "word-problems", *GEN, *args)
    assert ran.exit_code == 2 and message in ran.error


def test_reasoning_needs_a_chain_of_thought_prompt(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text('{"sentence": "a", "label": "positive"}\n')
    ran = invoke("eval", "sst2", "--data", str(data), "--reasoning", "cot", "--shots", "0")
    assert ran.exit_code == 2 and "--reasoning is for a chain-of-thought prompt" in ran.error


def test_gsm8k_lines_are_chains_and_a_line_without_the_answer_is_located(tmp_path):
    data = tmp_path / "gsm.jsonl"
    good = {"question": "Ada has 2 and buys 3. How many?", "answer": "2+3=<<2+3=5>>5\n#### 5"}
    data.write_text(json.dumps(good) + "\n")
    engine = FakeEngine(n_ctx=4096)
    chains(engine, ["5", "5"])
    out = tmp_path / "r.json"
    ran = invoke("eval", "word-problems", "--data", str(data), "--gsm8k", "--pool", str(data),
                 "--shots", "0,1", "--seeds", "1", "-o", str(out), engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    runs = json.loads(out.read_text())["runs"]
    assert [r["exact"] for r in runs] == [1.0, 1.0]
    assert "A: 2+3=5 The answer is 5." in prompt_text(engine.prompts[-1])
    bad = {"question": "Why?", "answer": "because"}
    data.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    ran = invoke("eval", "word-problems", "--data", str(data), "--gsm8k", "--shots", "0")
    assert ran.exit_code != 0 and ran.error.startswith(f"{data}:2: the answer has no final '####")


@pytest.mark.model
def test_cot_end_to_end_on_the_real_model(tmp_path):
    fewshot = run_cli(
        "fewshot", "word-problems", "Ada has 3 apples and buys 4 more. How many apples?",
        "-k", "2", "--max-tokens", "40", "--json", "--threads", "1", timeout=300,
    )  # fmt: skip
    assert fewshot.returncode == 0, fewshot.stderr
    records = [json.loads(line) for line in fewshot.stdout.splitlines()]
    assert records[0]["answer_pattern"] and records[-1]["type"] == "answer"
    answer = records[-1]
    if answer["answer"] is not None:  # the answer's tokens are part of the generated text
        text = "".join(r["text"] for r in records if r["type"] == "token")
        assert answer["answer"] in text and answer["tokens"] and answer["logprob"] < 0
    out = tmp_path / "r.json"
    result = run_cli(
        "eval", "word-problems", "--generate", "word-problems", "--limit", "2", "--shots", "1",
        "--seeds", "1", "--reasoning", "direct,cot", "--max-tokens", "40", "--threads", "1",
        "-o", str(out), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    direct, cot = (p["runs"][0] for p in record["prompts"])
    for run in (direct, cot):
        assert 0 <= run["exact"] <= 1 and 0 <= run["answered"] <= 1
        for p in run["predictions"]:
            s = p["samples"][0]
            assert s["answer"] is None or s["answer"] in s["text"]
