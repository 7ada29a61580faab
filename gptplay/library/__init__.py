"""The prompt library: TOML prompt files, validated strictly, composed into zero/one/few-shot text.

API (no terminal code here):

- ``load_prompt(name_or_path, library=None) -> PromptSpec``: a name resolves through the user
  libraries (``--library DIR``, then ``$GPTPLAY_LIBRARY``, then ``config_dir()/"prompts"``)
  and then the built-ins (``gptplay.prompt_library``); a user prompt shadows a built-in.
  A path ending in ``.toml`` loads that file. Problems raise ``PromptError`` reading
  ``file:line:col: message``.
- ``list_prompts(library=None) -> list[PromptEntry(name, path, origin, shadows_builtin)]``.
- ``compose(spec, shots, query_fields, variables=None, select="first"|"random", seed=None,
  examples=None, allow_query=False) -> ComposedPrompt(text, instruction, demonstrations,
  demo_texts, query, query_fields, variables, stop, params, seed, left_out)``: instruction +
  joiner + K demonstrations joined by ``spec.separator`` + the query cut; an example equal
  to the query is left out of the demonstrations (``without_query``) unless allowed.
- For evaluation and chat: ``spec.render_demo(fields)`` renders one demonstration,
  ``spec.render_query(fields)`` the query cut (the template up to the answer, trailing
  spaces dropped), ``spec.continuation(label)`` the text that follows the cut for an
  answer (``" positive"``), ``spec.labels``, ``spec.query_fields``, ``spec.answer``,
  ``assemble(spec, demos, query_fields)`` to build from chosen demonstrations, and
  ``spec.chat_roles()`` -> ``ChatRoles(user_field, assistant_field, user_prefix,
  assistant_prefix)`` for a dialogue scaffold (kind = "chat"; a history renders as
  demonstrations, the new message as the query; stop at the next user prefix).
- ``split_inputs(spec, input_text, {key: value})`` sorts CLI input into query fields and
  variables; ``Library.default(dir)`` for ``find``/``user_path``/``save_dir``;
  ``save_spec(spec, path)`` writes atomically, keeping a file's comments (tomlkit);
  ``validate_file(path) -> list[PromptError]`` lists every problem.
"""

from gptplay.library.compose import (
    ComposedPrompt,
    assemble,
    choose,
    compose,
    fit,
    split_inputs,
    without_query,
)
from gptplay.library.errors import PromptError
from gptplay.library.loader import check, load_text
from gptplay.library.save import atomic_write, render_toml, save_spec
from gptplay.library.spec import KINDS, ChatRoles, PromptSpec, Variable
from gptplay.library.store import (
    Library,
    PromptEntry,
    builtin_dir,
    check_name,
    list_prompts,
    load_file,
    load_prompt,
    validate_file,
)

__all__ = [
    "KINDS",
    "ChatRoles",
    "ComposedPrompt",
    "Library",
    "PromptEntry",
    "PromptError",
    "PromptSpec",
    "Variable",
    "assemble",
    "atomic_write",
    "builtin_dir",
    "check",
    "check_name",
    "choose",
    "compose",
    "fit",
    "list_prompts",
    "load_file",
    "load_prompt",
    "load_text",
    "render_toml",
    "save_spec",
    "split_inputs",
    "validate_file",
    "without_query",
]
