"""Retrieval-augmented prompts (issue 23 item 3): --context DIR, BM25 passages into {context}."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from gptplay.engine.fake import FakeEngine
from gptplay.retrieval import ContextError, open_index
from gptplay.retrieval import corpus as corpus_mod
from gptplay.retrieval.corpus import chunk
from tests.cli_support import invoke
from tests.conftest import run_cli

FACTS = {
    "history.md": "# Velmora\n\nVelmora was founded in 1742 by the miller Oskar Brandt.\n\n"
    "The clock tower was designed by the architect Lena Markov.\n",
    "lake.txt": "Lake Orrin is 61 metres deep. The ferry across it is named the Marta.\n",
    "food/cheese.md": "The local goat cheese is called Brindle and ages nine months.\n",
}


def make_context(root: Path, files: dict[str, str] = FACTS) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def prompt_text(ids: list[int]) -> str:
    return bytes(t - 1 for t in ids[1:]).decode()


# ---- the library ------------------------------------------------------------------


def test_passages_are_whole_paragraphs_up_to_the_word_limit_with_their_line():
    text = "# Title\n\none two three\n\nfour five\n\n# Next\n\nsix seven\n"
    got = chunk(text, "f.md", words=7)
    assert [(p.line, p.text) for p in got] == [
        (1, "# Title\none two three\nfour five"),
        (7, "# Next\nsix seven"),
    ]
    long = chunk("w " * 25, "g.txt", words=10)  # one long paragraph: windows of 10 words
    assert [len(p.text.split()) for p in long] == [10, 10, 5]


def test_the_passage_that_answers_ranks_first_and_unrelated_ones_are_left_out(tmp_path):
    index = open_index(make_context(tmp_path / "ctx"), tmp_path / "data")
    hits = index.search("Who designed the clock tower?", 3)
    assert hits[0].passage.source == "history.md" and "Lena Markov" in hits[0].passage.text
    assert hits[0].score > 0 and [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(h.passage.source != "food/cheese.md" for h in hits)  # shares no word
    assert index.search("zzzz qqqq", 3) == []


def test_the_index_is_cached_and_built_again_when_a_file_changes(tmp_path):
    root, data = make_context(tmp_path / "ctx"), tmp_path / "data"
    first = open_index(root, data)
    assert not first.from_cache
    again = open_index(root, data)
    assert again.from_cache and len(again.passages) == len(first.passages)
    assert again.search("ferry name", 1)[0].passage.source == "lake.txt"
    (root / "lake.txt").write_text("The ferry is now named the Greta, since 2020.\n")
    changed = open_index(root, data)
    assert not changed.from_cache and "Greta" in changed.search("ferry", 1)[0].passage.text
    (root / "new.md").write_text("The harbour has a red crane.\n")
    assert not open_index(root, data).from_cache  # a new file too


def test_empty_and_binary_files_of_a_directory_are_skipped_and_named(tmp_path):
    root = make_context(tmp_path / "ctx")
    (root / "empty.txt").write_text("")
    (root / "blob.md").write_bytes(b"\x00\x01binary")
    index = open_index(root, tmp_path / "data")
    assert sorted(index.skipped) == ["blob.md", "empty.txt"]


@pytest.mark.parametrize(
    "content, problem",
    [(b"", "the file is empty"), (b"PK\x03\x04\x00\x00", "is binary"), (b"\xff\xfe x", "UTF-8")],
)
def test_a_named_empty_or_binary_file_is_one_error(tmp_path, content, problem):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    with pytest.raises(ContextError) as err:
        open_index(path, tmp_path / "data")
    assert problem in err.value.message and str(path) in err.value.message


def test_a_missing_path_and_a_folder_without_text_files_are_one_error(tmp_path):
    with pytest.raises(ContextError, match="no such file or directory"):
        open_index(tmp_path / "nowhere", tmp_path / "data")
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(b"\x89PNG")
    with pytest.raises(ContextError, match="no text or markdown files"):
        open_index(tmp_path / "pics", tmp_path / "data")


def test_a_directory_over_the_file_limit_is_refused_at_once(tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    for i in range(corpus_mod.MAX_FILES + 1):
        (big / f"{i}.txt").touch()
    t0 = time.perf_counter()
    with pytest.raises(ContextError, match="over 10,000 text files"):
        open_index(big, tmp_path / "data")
    assert time.perf_counter() - t0 < 30  # refused while listing, never read or indexed


def test_a_huge_tree_is_refused_while_walking(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_mod, "MAX_ENTRIES", 50)
    tree = tmp_path / "tree"
    for i in range(60):
        (tree / f"d{i}").mkdir(parents=True)
    with pytest.raises(ContextError, match="over 50 entries"):
        open_index(tree, tmp_path / "data")


# ---- fewshot --context (fake engine) ----------------------------------------------


def test_fewshot_fills_context_lists_the_passages_and_records_them(tmp_path):
    root = make_context(tmp_path / "ctx")
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue([" Lena", " Markov"])
    ran = invoke("fewshot", "qa-context", "Who designed the clock tower?", "--context",
                 str(root), "--context-k", "2", "--shots", "1", engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    prompt = prompt_text(engine.prompts[-1])
    assert prompt.startswith("# Velmora\nVelmora was founded") and "Lena Markov" in prompt
    assert prompt.index("Lena Markov") < prompt.index("Answer each question")
    assert "Brindle" not in prompt
    assert "context: 3 passages from" in ran.stderr and "1.  " in ran.stderr
    assert "history.md:1" in ran.stderr
    from gptplay.history import runs

    latest = runs.load(1)  # the only run in this test's fresh history
    assert latest.extra["context"]["passages"][0]["source"] == "history.md"


def test_fewshot_json_has_a_context_record_with_scores(tmp_path):
    root = make_context(tmp_path / "ctx")
    engine = FakeEngine(n_ctx=4096)
    engine.enqueue([" Marta"])
    ran = invoke("fewshot", "qa-context", "What is the ferry named?", "--context", str(root),
                 "--json", engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    records = [json.loads(line) for line in ran.stdout.splitlines()]
    context = next(r for r in records if r["type"] == "context")
    assert context["passages"][0]["source"] == "lake.txt"
    assert context["passages"][0]["score"] > 0 and context["k"] == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["qa", "x", "--context", "CTX"], "prompt 'qa' has no {context} placeholder"),
        (["qa-context", "x", "--context", "MISSING"], "no such file or directory"),
        (["qa-context", "x", "--context", "CTX", "--var", "context=hi"], "both fill {context}"),
    ],
)
def test_fewshot_context_mistakes_are_one_line(tmp_path, args, message):
    root = make_context(tmp_path / "ctx")
    args = [str(root) if a == "CTX" else str(tmp_path / "nope") if a == "MISSING" else a
            for a in args]  # fmt: skip
    ran = invoke("fewshot", *args)
    assert ran.exit_code == 2 and message in ran.error


# ---- eval --context --retrieval none,bm25 (fake engine) ----------------------------


def test_eval_runs_closed_book_and_retrieved_side_by_side(tmp_path):
    root = make_context(tmp_path / "ctx")
    data = tmp_path / "qa.jsonl"
    rows = [("Who designed the clock tower?", "Lena Markov"), ("What is the cheese?", "Brindle")]
    data.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n" for q, a in rows))
    engine = FakeEngine(n_ctx=4096)
    for reply in ([" no"], [" no"], [" Lena Markov"], [" Brindle"]):
        engine.enqueue(reply)
    out = tmp_path / "r.json"
    ran = invoke("eval", "qa-context", "--data", str(data), "--context", str(root),
                 "--retrieval", "none,bm25", "--shots", "0", "-o", str(out),
                 engine=engine)  # fmt: skip
    assert ran.exit_code == 0, ran.error
    assert "qa-context closed-book" in ran.stdout and "qa-context bm25 top-3" in ran.stdout
    prompts = [prompt_text(p) for p in engine.prompts]
    assert prompts[0].startswith("Answer each question") and "Lena" not in prompts[0]
    assert "Lena Markov" in prompts[2] and "Brindle" in prompts[3]
    closed, retrieved = json.loads(out.read_text())["prompts"]
    assert closed["runs"][0]["exact"] == 0 and retrieved["runs"][0]["exact"] == 1
    assert retrieved["retrieval"]["passages"][1][0]["source"] == "food/cheese.md"
    assert closed["retrieval"]["method"] == "none"
    from gptplay.history import runs

    settings = runs.load(1).settings  # the history keeps what was compared
    assert settings["context"] == str(root) and settings["retrieval"] == ["none", "bm25"]


def test_eval_retrieval_without_context_is_a_usage_error(tmp_path):
    data = tmp_path / "qa.jsonl"
    data.write_text('{"question": "q", "answer": "a"}\n')
    ran = invoke("eval", "qa-context", "--data", str(data), "--retrieval", "none,bm25")
    assert ran.exit_code == 2 and "give --context" in ran.error
    ran = invoke("eval", "qa", "--data", str(data), "--context", str(data))
    assert ran.exit_code == 2 and "has no {context} placeholder" in ran.error
    ran = invoke("eval", "qa-context", "--data", str(data), "--context", str(data),
                 "--retrieval", "bm26")  # fmt: skip
    assert ran.exit_code == 2 and "--retrieval 'bm26'" in ran.error


# ---- the real model -----------------------------------------------------------------


@pytest.mark.model
def test_retrieved_context_answers_what_the_model_cannot_know(model_path, tmp_path):
    root = make_context(tmp_path / "ctx")
    env = {"GPTPLAY_DATA_DIR": os.environ["GPTPLAY_DATA_DIR"]}
    args = ["fewshot", "qa-context", "What is the local goat cheese called?", "--shots", "2",
            "--threads", "2", "--no-probs"]  # fmt: skip
    proc = run_cli(*args, "--context", str(root), env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Brindle" in proc.stdout and "food/cheese.md:1" in proc.stderr
    again = run_cli(*args, "--context", str(root), env=env, timeout=300)
    assert "cached index" in again.stderr and again.stdout == proc.stdout
    closed = run_cli(*args, "--var", "context=", env=env, timeout=300)  # the same, closed book
    assert closed.returncode == 0 and "Brindle" not in closed.stdout
