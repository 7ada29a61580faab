"""vLLM's OpenAI-compatible server, against scripted responses in the shapes vLLM documents:
``return_tokens_as_token_ids`` ("token_id:N" keys), ``prompt_logprobs`` (one dict per
prompt position, null first), ``/tokenize``, ``/detokenize``, ``max_model_len``."""

from __future__ import annotations

import pytest

from gptplay.engine.remote import connect
from gptplay.engine.types import SamplingParams
from tests.remote_servers import scripted_server, send_event, send_json, start_sse

PIECES = {1: "<s>", 5: "The", 6: " sky", 7: " is", 8: " blue", 9: " grey", 10: " green"}


def handle(req, path, body):
    if path == "/v1/models":
        return send_json(
            req,
            {
                "object": "list",
                "data": [{"id": "org/model-7b", "owned_by": "vllm", "max_model_len": 8192}],
            },
        )
    if path == "/tokenize":
        words = {v: k for k, v in PIECES.items()}
        text, ids = body["prompt"], []
        for word in text.replace(" ", "\0 ").split("\0"):
            if word:
                ids.append(words[word])
        return send_json(
            req,
            {
                "tokens": ([1] if body["add_special_tokens"] else []) + ids,
                "count": len(ids),
                "max_model_len": 8192,
            },
        )
    if path == "/detokenize":
        return send_json(req, {"prompt": "".join(PIECES[t] for t in body["tokens"])})
    if path != "/v1/completions":
        return send_json(req, {"detail": "Not Found"}, 404)
    if body.get("stream"):
        start_sse(req)
        for token, lp in ((8, -0.2), (7, -1.0)):
            tops = {f"token_id:{token}": lp, "token_id:9": -2.0}
            send_event(
                req,
                {
                    "choices": [
                        {
                            "index": 0,
                            "text": PIECES[token],
                            "logprobs": {
                                "text_offset": [0],
                                "token_logprobs": [lp],
                                "tokens": [f"token_id:{token}"],
                                "top_logprobs": [tops],
                            },
                            "finish_reason": None,
                        }
                    ]
                },
            )
        send_event(req, {"choices": [{"index": 0, "text": "", "finish_reason": "length"}]})
        return send_event(req, "[DONE]")
    if "prompt_logprobs" in body:
        rows = [None] + [
            {
                str(t): {"logprob": -0.5 * n, "rank": 1, "decoded_token": PIECES[t]},
                "9": {"logprob": -7.0, "rank": 2, "decoded_token": " grey"},
            }
            for n, t in enumerate(body["prompt"][1:], start=1)
        ]
        return send_json(
            req,
            {
                "choices": [
                    {"index": 0, "text": " x", "prompt_logprobs": rows, "finish_reason": "length"}
                ]
            },
        )
    # next-token top-K (capped at 20 by max_logprobs): " blue" and " grey", not " green"
    top = {"token_id:8": -0.3, "token_id:9": -1.6}
    return send_json(
        req,
        {
            "choices": [
                {
                    "index": 0,
                    "text": " blue",
                    "logprobs": {
                        "tokens": ["token_id:8"],
                        "token_logprobs": [-0.3],
                        "top_logprobs": [top],
                    },
                    "finish_reason": "length",
                }
            ]
        },
    )


@pytest.fixture
def vllm():
    with scripted_server(handle) as url:
        yield url


def test_vllm_is_recognised_with_its_context_and_cap(vllm):
    engine = connect(vllm)
    assert engine.server_kind == "vllm" and engine.n_ctx == 8192
    assert engine.api.caps.max_top == 20 and engine.api.caps.prompt_logprobs
    assert engine.tokenize("The sky") == [1, 5, 6]


def test_streamed_tokens_carry_ids_and_alternatives_by_id(vllm):
    said = []
    engine = connect(vllm, notify=lambda text, warning: said.append(text))
    done = engine.stream("The sky is", SamplingParams(max_tokens=2), top=50).run()
    assert [(e.id, e.text) for e in done.events] == [(8, " blue"), (7, " is")]
    assert [(a.id, a.bytes) for a in done.events[0].top] == [(8, b" blue"), (9, b" grey")]
    assert any("caps alternatives at 20" in s for s in said)


def test_labels_come_from_top_k_then_prompt_logprobs(vllm):
    engine = connect(vllm)
    scored = engine.score_choices([1, 5, 6, 7], [[8], [10]])
    assert scored[0][0].logprob == -0.3  # in the top 20 after the prompt
    assert scored[1][0].logprob == -2.0  # outside it: exact, from prompt_logprobs
    report = engine.scoring_report()
    assert "top-20" in report and "prompt_logprobs" in report
