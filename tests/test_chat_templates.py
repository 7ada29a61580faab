"""Chat templates: real-world Jinja templates render as expected; hostile ones are refused."""

from __future__ import annotations

import pytest

from gptplay.chat import ChatTemplateError, JinjaFormat, Message, ScaffoldFormat, choose_format
from gptplay.engine.fake import FakeEngine
from gptplay.library import PromptError, load_prompt

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}"
)

# Llama 3.2's shape: a date from strftime_now, a tools branch, the system turn pulled out.
LLAMA32 = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}
    {{- message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

GEMMA = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
"""

TURNS = [Message("user", "Hi!"), Message("assistant", "Hello."), Message("user", "2+2?")]


def test_chatml_renders_every_turn_and_opens_the_assistants():
    text = JinjaFormat(CHATML).render("Be brief.", TURNS)
    assert text == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_llama3_puts_bos_first_and_trims():
    text = JinjaFormat(LLAMA3, bos_token="<|begin_of_text|>").render(None, TURNS)
    assert text.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!")
    assert text.count("<|begin_of_text|>") == 1
    assert text.endswith("2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")


def test_llama32_uses_strftime_now_and_tools_none():
    text = JinjaFormat(LLAMA32, bos_token="<|begin_of_text|>").render("Sys.", TURNS)
    assert "Today Date: " in text and "26 Jul 2024" not in text  # strftime_now was called
    assert "Environment: ipython" not in text  # tools is None, not undefined-and-truthy
    assert "<|end_header_id|>\n\nToday Date" in text and "Sys.<|eot_id|>" in text


def test_gemma_folds_the_system_prompt_into_the_first_user_turn():
    text = JinjaFormat(GEMMA, bos_token="<bos>").render("Be brief.", TURNS)
    assert text == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n"
        "<start_of_turn>model\nHello.<end_of_turn>\n"
        "<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n"
    )


def test_a_template_raising_its_own_exception_is_a_readable_error():
    bad = [Message("user", "a"), Message("user", "b")]
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        JinjaFormat(GEMMA, bos_token="<bos>").render(None, bad)


def test_a_broken_template_names_the_line():
    with pytest.raises(ChatTemplateError, match="line 2: not a valid Jinja template"):
        JinjaFormat("ok\n{% for m in messages %}")


@pytest.mark.parametrize(
    "hostile",
    [
        "{{ messages.__class__.__mro__[1].__subclasses__() }}",
        "{{ raise_exception.__globals__ }}",
        "{{ ''.__class__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ lipsum.__globals__['os'] }}",
        "{{ messages|attr('__class__') }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        "{{ strftime_now.__code__ }}",
        "{% set _ = messages.append({'role': 'user'}) %}",
    ],
)
def test_a_template_reaching_python_internals_is_refused(hostile):
    with pytest.raises(ChatTemplateError, match="refused to run"):
        JinjaFormat(hostile, origin="evil.gguf's chat template").render(None, TURNS)


def test_the_library_scaffold_renders_history_as_demonstrations():
    fmt = ScaffoldFormat(load_prompt("chat"))
    text = fmt.render(None, TURNS)
    assert text.startswith("The following is a conversation with Assistant")
    assert text.endswith("User: Hi!\nAssistant: Hello.\nUser: 2+2?\nAssistant:")
    assert (
        "User: Can you suggest a name for a grey kitten?\n"
        "Assistant: How about Smokey, Pebble or Ash?\nUser: Hi!" in text
    )
    assert fmt.stop[0] == "\nUser:"
    custom = fmt.render("You are {terse}.", TURNS)  # braces in a system prompt are literal
    assert custom.startswith("You are {terse}.\n\nUser: How many legs does a spider have?")


def test_choose_format_prefers_the_models_template_then_the_scaffold(tmp_path):
    assert isinstance(choose_format(FakeEngine(chat_template=CHATML)), JinjaFormat)
    assert isinstance(choose_format(FakeEngine()), ScaffoldFormat)
    scaffold = choose_format(FakeEngine(chat_template=CHATML), "chat")
    assert isinstance(scaffold, ScaffoldFormat)
    jinja = tmp_path / "mine.jinja"
    jinja.write_text(LLAMA3)
    assert isinstance(choose_format(FakeEngine(), str(jinja)), JinjaFormat)


def test_choose_format_refuses_a_prompt_that_is_not_a_scaffold():
    with pytest.raises(PromptError, match="is a translation prompt, not a dialogue scaffold"):
        choose_format(FakeEngine(), "translate")
    with pytest.raises(PromptError, match="no prompt named"):
        choose_format(FakeEngine(), "chatt")


def test_the_scaffold_has_no_example_a_first_message_would_copy():
    """A greeting, a capital or a goodbye among the examples was repeated to other questions."""
    spec = load_prompt("chat")
    answers = " ".join(e["assistant"] for e in spec.examples)
    for copied in ("I am an AI assistant", "Rome", "Goodbye"):
        assert copied not in answers
