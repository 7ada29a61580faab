"""The console entry point, kept import-free so a Ctrl-C while the CLI loads is handled.

Loading the command line (typer, rich, every command module) takes a noticeable moment;
an interrupt then would otherwise end in a KeyboardInterrupt traceback.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from gptplay.cli import main as cli_main
    except KeyboardInterrupt:
        sys.exit(130)
    cli_main()
