"""Hostile chat templates (issue 17, items 4 and 7): every failure is one refusal, bounded.

Each template runs in a subprocess with a timeout of its own, so a template that hangs
fails its test instead of stalling the run.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from gptplay.chat import sandbox
from gptplay.chat.conversation import Message
from gptplay.chat.templates import ChatTemplateError, JinjaFormat

RENDER = """
import sys
from gptplay.chat.conversation import Message
from gptplay.chat.templates import ChatTemplateError, JinjaFormat
try:
    out = JinjaFormat(sys.argv[1]).render(None, [Message("user", "hi")])
except ChatTemplateError as exc:
    print("ERROR", exc.message)
else:
    print("RENDERED", len(out))
"""

HOSTILE = {
    "nested ranges": "{% for i in range(100000) %}{% for j in range(100000) %}"
    "{% endfor %}{% endfor %}",
    "lipsum": "{{ lipsum(10**6) }}",
    "tojson indent": "{{ messages|tojson(indent=10**8) }}",
    "runtime power": "{{ 7 ** 99999999 }}",
    "strftime": "{{ strftime_now('%Y' * 10**7) }}",
    "join over ranges": "{{ range(100000)|map('string')|join(range(100000)|join) }}",
    "folded repeat": "{{ 'a' * 10**9 }}",
    "folded literal repeat": "{{ 'a' * 1000000000 }}",
    "list repeat": "{{ [1] * 10**9 }}",
    "zero division": "{{ 1 // 0 }}",
    "float overflow": "{{ 10.0 ** 400 }}",
    "range too big": "{{ range(10**10)|list }}",
    "recursion": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "center": "{{ 'a'|center(1000000000) }}",
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    "percent width": "{{ '%999999999d' % 1 }}",
    "ljust": "{{ 'a'.ljust(10**9) }}",
    "concat doubling": "{% set ns = namespace(s='a') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "block set doubling": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
    "{% set x %}{{ ns.s }}{{ ns.s }}{% endset %}{% set ns.s = x %}{% endfor %}",
    "replace growth": "{% set ns = namespace(s='a') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s|replace('a', 'aaaaaaaaaa') %}{% endfor %}",
    "deep parse": "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
    "syntax error": "ok\n{% for m in messages %}",
}


@pytest.mark.parametrize("source", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_template_is_refused_in_bounded_time(source):
    proc = subprocess.run(
        [sys.executable, "-c", RENDER, source], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ERROR refused to run the model's chat template: "), proc.stdout
    assert "Traceback" not in proc.stderr


def test_the_limits_are_named_in_the_errors():
    with pytest.raises(ChatTemplateError, match=f"more than {sandbox.TIME_LIMIT_S:g} s"):
        JinjaFormat(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        ).render(None, [Message("user", "hi")])
    with pytest.raises(ChatTemplateError, match="over the size limit of 1,000,008"):
        JinjaFormat("{{ 'a' * 10**9 }}").render(None, [Message("user", "hi")])


def test_the_size_limit_grows_with_the_conversation():
    """A long conversation still renders: the limit is a base plus four per character."""
    long = "word " * 300_000  # 1.5 M characters, over the base limit on its own
    text = JinjaFormat("{% for m in messages %}{{ m.content }}{% endfor %}").render(
        None, [Message("user", long)]
    )
    assert text == long


def test_ordinary_templates_still_use_repeat_and_power():
    text = JinjaFormat("{{ '=' * 3 }}{{ 2 ** 10 }}{{ '%-4s|' % 'ab' }}{{ [1, 2] + [3] }}").render(
        None, [Message("user", "hi")]
    )
    assert text == "===1024ab  |[1, 2, 3]"
