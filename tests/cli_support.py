"""Run gptplay's commands in-process (Typer's CliRunner) on a FakeEngine."""

from __future__ import annotations

from dataclasses import dataclass

from typer.testing import CliRunner

from gptplay.cli.options import ENGINE_LOADER
from gptplay.engine.fake import FakeEngine
from gptplay.errors import GptplayError


@dataclass
class Ran:
    """What one in-process command did: exit code, output, error line, and the engine."""

    exit_code: int
    stdout: str
    stderr: str
    error: str | None
    engine: FakeEngine

    @property
    def settings(self):
        """The resolved settings the command loaded its model with (the last load)."""
        return self.engine.loads[-1]

    @property
    def params(self):
        """The SamplingParams of the last generation."""
        return self.engine.params[-1]


def invoke(*args: str, engine: FakeEngine | None = None, input: str | None = None) -> Ran:
    """``gptplay ARGS`` in this process; the model loader returns ``engine``."""
    from gptplay.cli import app

    engine = engine or FakeEngine()
    result = CliRunner().invoke(app, list(args), input=input, obj={ENGINE_LOADER: engine.loader()})
    error = None
    code = result.exit_code
    if isinstance(result.exception, GptplayError):  # main() prints these as one line
        error, code = result.exception.message, result.exception.exit_code
    elif result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(code, result.stdout, result.stderr, error, engine)
