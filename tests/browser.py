"""Real Chromium (Debian's) through Playwright, and an in-process HTTP server.

Import the fixtures into a test module: ``from browser import browser, served  # noqa: F401``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("ANTRIAN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:  # type: ignore[type-arg]
    from conftest import require_services

    if not Path(CHROMIUM).exists():
        if require_services():
            pytest.fail(f"Chromium is required here but {CHROMIUM} is missing (make chromium)")
        pytest.skip(f"Chromium not installed at {CHROMIUM}; run 'make chromium'")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve the test app over real HTTP on a free port; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
