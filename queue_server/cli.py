"""The ``antrian`` console script.

The async library must patch the standard library (and psycopg2) before
Flask, SQLAlchemy or anything else is imported, so this module imports nothing
heavy at the top and patches for ANTRIAN_ASYNC_MODE first (async_mode.py).
"""

from __future__ import annotations

import sys
import warnings


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # Eventlet warns on import that it is in maintenance mode; the choice is
    # documented in docs/deployment.md, so do not repeat it on every command.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    if args[:1] == ["serve"]:
        from .async_mode import patch_from_environment

        patch_from_environment()
    from .commands import cli

    cli.main(args=args, prog_name="antrian")


if __name__ == "__main__":
    main()
