"""The ``antrian`` console script.

The async library must patch the standard library before Flask, SQLAlchemy
or anything else is imported, so this module imports nothing heavy at the top
and picks the patch from ANTRIAN_ASYNC_MODE first.
"""

from __future__ import annotations

import os
import sys
import warnings


def _patch_for_async_mode() -> None:
    mode = os.environ.get("ANTRIAN_ASYNC_MODE", "eventlet")
    if mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    # Eventlet warns on import that it is in maintenance mode; the choice is
    # documented in docs/deployment.md, so do not repeat it on every command.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    if args[:1] == ["serve"]:
        _patch_for_async_mode()
    from .commands import cli

    cli.main(args=args, prog_name="antrian")


if __name__ == "__main__":
    main()
