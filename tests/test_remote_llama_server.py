"""The llama-server native path, against recorded responses.

There is no llama-server binary on these machines, so a scripted server answers with the
shapes llama.cpp's tools/server/README.md documents: ``GET /props``; ``POST /tokenize`` with
``with_pieces`` (a piece is a string, or a list of bytes when it is not valid UTF-8);
``/detokenize``; ``/apply-template``; ``/completion`` streamed as server-sent events with
``completion_probabilities[].{id, token, bytes, logprob, top_logprobs[]}``, or ``prob`` /
``top_probs`` with ``post_sampling_probs``, and a last event with ``stop: true``.
"""

from __future__ import annotations

import json
import math
import threading
import time

import pytest

from gptplay.engine.remote import connect
from gptplay.engine.remote.transport import RemoteError, StreamCutError
from gptplay.engine.types import SamplingParams
from tests.conftest import run_cli
from tests.remote_servers import scripted_server, send_event, send_json, start_sse

VOCAB = {
    1: b"<s>",
    10: b"Hello",
    11: b" world",
    12: b"\xc3",
    13: b"\xa1",
    14: b"!",
    20: b" positive",
    21: b" negative",
    22: b" neu",
    23: b"tral",
}
BY_BYTES = sorted(((v, k) for k, v in VOCAB.items() if k != 1), key=lambda p: -len(p[0]))
PROPS = {
    "default_generation_settings": {"id": 0, "n_ctx": 2048, "params": {"n_probs": 0}},
    "total_slots": 2,
    "model_path": "../models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",
    "chat_template": "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "build_info": "b5000-abcdef0",
}


def tokenize(data: bytes) -> list[int]:
    """Longest known piece first, else one byte per token (id 100 + byte)."""
    out, i = [], 0
    while i < len(data):
        for piece, token in BY_BYTES:
            if data.startswith(piece, i):
                out.append(token)
                i += len(piece)
                break
        else:
            out.append(100 + data[i])
            i += 1
    return out


def piece(token: int) -> bytes:
    return VOCAB.get(token, bytes([token - 100]) if token >= 100 else b"")


def prob_item(token: int, value: float, post: bool, alts=()) -> dict:
    item = {
        "id": token,
        "token": piece(token).decode("utf-8", "replace"),
        "bytes": list(piece(token)),
    }
    item["prob" if post else "logprob"] = value
    if alts:
        key = "top_probs" if post else "top_logprobs"
        item[key] = [prob_item(t, v, post) for t, v in alts]
    return item


# the recorded completion: "Hello", then "á" as two byte tokens, then "!"
STEPS = [
    (10, -0.1, [(10, -0.1), (11, -2.5)]),
    (12, -0.7, [(12, -0.7), (14, -1.2)]),
    (13, -0.01, [(13, -0.01), (14, -5.0)]),
    (14, -0.3, [(14, -0.3), (11, -1.4)]),
]
# the top-K after a scoring prompt: label log-probabilities by the last prompt token
NEXT = {14: [(20, -0.4), (21, -1.3), (22, -3.0)], 22: [(23, -0.05), (14, -4.0)]}


class Recorder:
    def __init__(self, cut: bool = False, stop_type: str = "limit") -> None:
        self.requests: list[tuple[str, dict | None]] = []
        self.cut, self.stop_type = cut, stop_type
        self.vary, self.lock, self.in_flight, self.most = False, threading.Lock(), 0, 0

    def __call__(self, req, path, body) -> None:
        self.requests.append((path, body))
        if path == "/props":
            return send_json(req, PROPS)
        if path == "/tokenize":
            ids = ([1] if body.get("add_special") else []) + tokenize(body["content"].encode())
            tokens = []
            for t in ids:
                try:
                    tokens.append({"id": t, "piece": piece(t).decode("utf-8")})
                except UnicodeDecodeError:
                    tokens.append({"id": t, "piece": list(piece(t))})
            return send_json(req, {"tokens": tokens})
        if path == "/detokenize":
            text = b"".join(piece(t) for t in body["tokens"]).decode("utf-8", "replace")
            return send_json(req, {"content": text})
        if path == "/apply-template":
            text = "".join(f"<{m['role']}>{m['content']}" for m in body["messages"])
            return send_json(req, {"prompt": text + "<assistant>"})
        if path == "/completion" and body.get("stream"):
            return self.stream(req, body)
        if path == "/completion":
            last = body["prompt"][-1]
            top = NEXT.get(last, [(14, -0.2)])[: body["n_probs"]]
            if self.vary:  # scores that differ per prompt, answered out of order
                n = len(body["prompt"])
                top = [(20, -0.1 * (n % 7)), (21, -0.1 * (n % 5))]
                with self.lock:
                    self.in_flight += 1
                    self.most = max(self.most, self.in_flight)
                time.sleep(0.02 * (n * 7 % 5))
                with self.lock:
                    self.in_flight -= 1
            item = prob_item(top[0][0], top[0][1], False, top)
            return send_json(
                req,
                {
                    "content": "x",
                    "stop": True,
                    "stop_type": "limit",
                    "completion_probabilities": [item],
                },
            )
        return send_json(req, {"error": {"code": 404, "message": "File Not Found"}}, 404)

    def stream(self, req, body) -> None:
        post = body.get("post_sampling_probs", False)
        start_sse(req)
        text = b""
        for n, (token, lp, alts) in enumerate(STEPS[: body["n_predict"]]):
            value = math.exp(lp) if post else lp
            alts = [(t, math.exp(v) if post else v) for t, v in alts]
            text += piece(token)
            try:  # llama-server holds back an unfinished character's bytes
                content = text.decode("utf-8")
                text = b""
            except UnicodeDecodeError:
                content = ""
            send_event(
                req,
                {
                    "content": content,
                    "tokens": [token],
                    "stop": False,
                    "completion_probabilities": [prob_item(token, value, post, alts)],
                },
            )
            if self.cut and n == 1:
                return
        send_event(
            req,
            {
                "content": "",
                "stop": True,
                "stop_type": self.stop_type,
                "tokens_evaluated": len(body["prompt"]),
                "tokens_cached": 1,
                "truncated": False,
                "timings": {"predicted_per_second": 50.0},
            },
        )


@pytest.fixture
def recorded():
    recorder = Recorder()
    with scripted_server(recorder) as url:
        yield url, recorder


def notices(engine) -> list[str]:
    said: list[str] = []
    engine._notify = lambda text, warning: said.append(text)
    return said


def test_the_probe_reads_props(recorded):
    url, _ = recorded
    engine = connect(url)
    assert engine.server_kind == "llama-server"
    assert engine.n_ctx == 2048
    assert engine.model_name == f"Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf @ {url}"
    info = engine.chat_info()
    assert info.template == PROPS["chat_template"] and info.bos_token == "<s>"


def test_pieces_keep_the_bytes_of_an_unfinished_character(recorded):
    url, recorder = recorded
    engine = connect(url)
    pieces = engine.pieces("Hello á")
    assert [(p.id, p.bytes) for p in pieces] == [
        (1, b"<s>"),
        (10, b"Hello"),
        (132, b" "),
        (12, b"\xc3"),
        (13, b"\xa1"),
    ]
    assert engine.tokenize("Hello", add_bos=False) == [10]
    assert recorder.requests[-1][1] == {
        "content": "Hello",
        "add_special": False,
        "parse_special": True,
        "with_pieces": True,
    }
    assert engine.detokenize([10, 11]) == b"Hello world"


def test_the_stream_has_ids_exact_bytes_and_alternatives_by_id(recorded):
    url, recorder = recorded
    engine = connect(url)
    done = engine.stream(
        [1, 10], SamplingParams(temperature=0.0, max_tokens=4, seed=5), top=2
    ).run()
    assert [(e.id, e.bytes, e.text) for e in done.events] == [
        (10, b"Hello", "Hello"),
        (12, b"\xc3", ""),
        (13, b"\xa1", "á"),
        (14, b"!", "!"),
    ]
    assert done.text == "Helloá!" and done.finish_reason == "length"
    assert done.prompt_tokens == 2 and done.cached_tokens == 1 and done.seed == 5
    assert [e.logprob for e in done.events] == [-0.1, -0.7, -0.01, -0.3]
    assert [(a.id, a.bytes, a.logprob) for a in done.events[1].top] == [
        (12, b"\xc3", -0.7),
        (14, b"!", -1.2),
    ]
    body = [b for p, b in recorder.requests if p == "/completion"][0]
    assert body["prompt"] == [1, 10] and body["n_probs"] == 2 and body["stream"] is True
    assert body["post_sampling_probs"] is False and body["seed"] == 5
    assert body["temperature"] == 0.0 and body["n_predict"] == 4


def test_post_sampling_probabilities_fill_the_sampled_fields_and_say_what_is_missing(recorded):
    url, _ = recorded
    engine = connect(url)
    said = notices(engine)
    done = engine.stream([1, 10], SamplingParams(max_tokens=2), top=2, sampled=True).run()
    first = done.events[0]
    assert first.logprob is None and first.top == ()
    assert first.sampled_logprob == pytest.approx(-0.1)
    assert [a.id for a in first.sampled_top] == [10, 11]
    assert any("raw or post-sampler probabilities per request" in s for s in said)


def test_an_end_of_text_is_a_stop(recorded):
    url, recorder = recorded
    recorder.stop_type = "eos"
    done = connect(url).stream([1], SamplingParams(max_tokens=9), top=1).run()
    assert done.finish_reason == "stop"


def test_a_stream_without_its_last_event_is_cut(recorded):
    url, recorder = recorded
    recorder.cut = True
    stream = connect(url).stream([1], SamplingParams(max_tokens=4), top=1)
    with pytest.raises(StreamCutError, match="closed the stream after 2 tokens"):
        stream.run()
    assert stream.completion.finish_reason == "interrupted"
    assert stream.completion.text == "Hello"


def test_labels_are_scored_from_n_probs_at_each_position(recorded):
    url, recorder = recorded
    engine = connect(url)
    context = [1, 10, 14]
    scored = engine.score_choices(context, [[20], [21], [22, 23]])
    assert [[t.logprob for t in s] for s in scored] == [[-0.4], [-1.3], [-3.0, -0.05]]
    asks = [b["prompt"] for p, b in recorder.requests if p == "/completion"]
    assert asks == [[1, 10, 14], [1, 10, 14, 22]]  # the context's top-K serves every label
    body = [b for p, b in recorder.requests if p == "/completion"][0]
    assert body["n_probs"] == 1000 and body["n_predict"] == 1
    assert body["post_sampling_probs"] is False
    assert engine.scoring_report() == (
        f"labels scored on {url} (llama-server): 4 tokens from the top-1000 next-token "
        "log-probabilities at each position (n_probs method)."
    )


def test_a_label_outside_n_probs_is_a_clear_error(recorded):
    url, _ = recorded
    engine = connect(url)
    with pytest.raises(RemoteError) as caught:
        engine.score_choices([1, 10, 14], [[11]])
    assert "' world' (id 11) is not among the top 1000" in caught.value.message
    assert "no prompt log-probabilities" in caught.value.message
    assert "vLLM" in caught.value.hint


def test_score_tokens_asks_at_every_position(recorded):
    url, _ = recorded
    scored = connect(url).score_tokens([1, 10, 14], [22, 23], top=1)
    assert [(t.id, t.logprob) for t in scored] == [(22, -3.0), (23, -0.05)]
    assert [a.id for a in scored[0].top] == [20]


def test_chat_uses_the_servers_own_template(recorded):
    from gptplay.chat import choose_format
    from gptplay.chat.conversation import Message

    url, recorder = recorded
    fmt = choose_format(connect(url))
    text = fmt.render("Be brief.", [Message("user", "Hi")])
    assert text == "<system>Be brief.<user>Hi<assistant>"
    assert recorder.requests[-1] == (
        "/apply-template",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"},
            ]
        },
    )


def test_eval_on_llama_server_reports_the_n_probs_method(recorded, tmp_path):
    url, _ = recorded
    task = tmp_path / "tiny.toml"
    task.write_text(
        'title = "tiny"\ndescription = "d"\ntemplate = "Hello{text}! {label}"\n'
        'answer = "label"\nkind = "classification"\nlabels = ["positive", "negative"]\n'
        '[[examples]]\ntext = ""\nlabel = "positive"\n'
    )
    data = tmp_path / "data.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": "", "label": lab}) + "\n"
            for lab in ("positive", "negative", "positive")
        )
    )
    result = run_cli("eval", str(task), "--data", str(data), "--shots", "0", "--model", url)
    assert result.returncode == 0, result.stderr
    assert "n_probs method" in result.stdout
    assert "66.7" in result.stdout  # always " positive" (-0.4 > -1.3): 2 of 3 right


def test_eval_results_do_not_depend_on_concurrency(recorded, tmp_path):
    url, recorder = recorded
    recorder.vary = True
    task = tmp_path / "tiny.toml"
    task.write_text(
        'title = "tiny"\ndescription = "d"\ntemplate = "Hello{text}! {label}"\n'
        'answer = "label"\nkind = "classification"\nlabels = ["positive", "negative"]\n'
        '[[examples]]\ntext = ""\nlabel = "positive"\n'
    )
    data = tmp_path / "data.jsonl"
    rows = [{"text": "x" * n, "label": ("positive", "negative")[n % 2]} for n in range(12)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def run(n: int) -> list:
        out = tmp_path / f"c{n}.json"
        result = run_cli(
            "eval",
            str(task),
            "--data",
            str(data),
            "--shots",
            "0",
            "--model",
            url,
            "--concurrency",
            str(n),
            "-o",
            str(out),
        )
        assert result.returncode == 0, result.stderr
        preds = json.loads(out.read_text())["runs"][0]["predictions"]
        return [(p["index"], p["predicted"], p["scores"]) for p in preds]

    one = run(1)
    assert recorder.most == 1
    four = run(4)
    assert recorder.most > 1  # requests really overlapped, and finished out of order
    assert four == one
    assert len({p[2]["positive"]["logprob"] for p in one}) > 3  # the scores do differ
