"""Benchmark: how often the chat scaffold's example turns leak into replies to other questions.

A base model chats through a dialogue scaffold whose example turns it may copy: asked about
the weather, it answers "The capital of Italy is Rome." For each of 36 first messages that
have nothing to do with any example, one reply is sampled with the scaffold's own [params]
(seeds 1..N, the same replies every run) and counted as a leak when it repeats an example's
answer: a run of four words from it, or one of its content words (a name, a place, a
number) that the question does not contain. Prints the leak rate and each leaked reply.

    python bench/chat_leak.py [--scaffold FILE.toml] [--seeds 1]
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path

MESSAGES = [
    "What's the weather like today?",
    "Can you recommend a good book?",
    "How do I boil an egg?",
    "What is your favourite colour?",
    "Why is the sky blue?",
    "Write a haiku about autumn.",
    "How far away is the moon?",
    "What should I name my new goldfish?",
    "Give me a tip for learning guitar.",
    "What is the tallest mountain in the world?",
    "How do plants make food?",
    "Can you help me plan a birthday party?",
    "What is a good way to fall asleep faster?",
    "Who wrote Romeo and Juliet?",
    "What is the boiling point of water?",
    "How do I say hello in Japanese?",
    "What are some fun things to do on a rainy day?",
    "Explain what a computer virus is.",
    "What's the best way to save money?",
    "Suggest a name for a pet dragon.",
    "How many days are in a leap year?",
    "What do you know about penguins?",
    "Can you tell me a fun fact?",
    "What is the largest planet in our solar system?",
    "How do I make a paper airplane?",
    "What language is spoken in Brazil?",
    "Recommend a movie for tonight.",
    "Why do cats purr?",
    "What is photosynthesis?",
    "How can I be more productive?",
    "What is the fastest land animal?",
    "Describe the ocean in one sentence.",
    "What is your name?",
    "Is it healthy to drink coffee?",
    "How do I start running?",
    "What year did people first land on the moon?",
]
STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        "a an the is are am i you it of to and or for in on at by with be can do how what who "
        "why my me your this that there here one two some any as so if but not no yes please "
        "thanks thank about tell day today have has had will would could should because from "
        "they them their then than when where which while very just like make made much many "
        "more most also into over only other such each every help good great",
    )
)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def leak(reply: str, question: str, examples: list[tuple[str, str]], preamble: str) -> str | None:
    """The example answer's text the reply repeats, or None.

    Four words in a row from an example's answer, or one of its content words: not a
    common word, and in neither the example's own question, the preamble, nor the question
    asked now (a reply may say "water" when asked about water).
    """
    got, asked = words(reply), set(words(question)) | set(words(preamble))
    grams = {tuple(got[i : i + 4]) for i in range(len(got) - 3)}
    for user, example in examples:
        ex = words(example)
        for i in range(len(ex) - 3):
            if tuple(ex[i : i + 4]) in grams:
                return " ".join(ex[i : i + 4])
        own = set(words(user))
        content = {w for w in ex if w not in STOPWORDS | asked | own and len(w) > 3}
        shared = content & set(got)
        if shared:
            return ", ".join(sorted(shared))
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scaffold", default="chat", help="a library name or a .toml file")
    ap.add_argument("--seeds", type=int, default=1, help="replies per message")
    ap.add_argument("--temperature", type=float, help="default: the scaffold's own")
    args = ap.parse_args()

    from gptplay.chat import ChatSession, ScaffoldFormat
    from gptplay.chat.commands import default_params
    from gptplay.engine.llama import LlamaEngine
    from gptplay.library import load_file, load_prompt
    from gptplay.models import embedded_model_path

    toml = args.scaffold.endswith(".toml")
    spec = load_file(Path(args.scaffold)) if toml else load_prompt(args.scaffold)
    fmt = ScaffoldFormat(spec)
    engine = LlamaEngine(embedded_model_path(), n_ctx=2048)
    examples = [(e.get("user", ""), e[spec.answer]) for e in spec.examples]
    preamble = spec.instruction
    leaks, total = [], 0
    for seed in range(1, args.seeds + 1):
        for n, question in enumerate(MESSAGES):
            params = default_params(fmt)

            params = replace(params, seed=seed * 1000 + n)
            if args.temperature is not None:
                params = replace(params, temperature=args.temperature)
            session = ChatSession(engine, fmt, params, top=0, probs=False)
            reply = session.send(question)
            reply.finish()
            text = session.conversation.messages[-1].content
            total += 1
            found = leak(text, question, examples, preamble)
            print(
                f"{'LEAK ' if found else '     '}{question!r} -> {text!r}"
                + (f"  [{found}]" if found else "")
            )
            if found:
                leaks.append(question)
    print(
        f"\n{spec.name} ({spec.source}): {len(leaks)}/{total} replies leak an example "
        f"({100 * len(leaks) / total:.0f}%)"
    )


if __name__ == "__main__":
    main()
