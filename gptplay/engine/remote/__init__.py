"""The remote engine: the Engine interface on a model served over HTTP.

``transport`` speaks HTTP and server-sent events under one deadline, ``endpoints`` names
every path, ``api`` is what each server dialect gives (``llama_server``, ``openai``),
``score`` scores prompts through them, ``steer`` carries a run's grammar, schema, choices
and logit bias to each dialect's fields, and ``engine`` turns it all into TokenEvents.
"""

from gptplay.engine.remote.engine import RemoteEngine, connect, connect_model, is_url, probe
from gptplay.engine.remote.transport import RemoteError, StreamCutError

__all__ = [
    "RemoteEngine",
    "RemoteError",
    "StreamCutError",
    "connect",
    "connect_model",
    "is_url",
    "probe",
]
