"""The console entry point (`gptplay`, `python -m gptplay`), kept import-free so that a
Ctrl-C while the command line loads (typer, rich, every command module) exits 130 rather
than ending in a KeyboardInterrupt traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from gptplay.cli import main as cli_main
    except KeyboardInterrupt:
        sys.exit(130)
    cli_main()


if __name__ == "__main__":
    main()
