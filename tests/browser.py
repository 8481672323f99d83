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


_shared: dict[str, object] = {}  # one Playwright and one Chromium for the whole run


def _launch():  # type: ignore[no-untyped-def]
    """Several modules import the fixture (each import is its own session
    fixture to pytest), but Playwright's sync API allows one instance."""
    if "browser" not in _shared:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _shared["playwright"] = playwright
        _shared["browser"] = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    return _shared["browser"]


def shutdown() -> None:
    """Close Chromium and Playwright (conftest calls this when the session ends)."""
    browser = _shared.pop("browser", None)
    playwright = _shared.pop("playwright", None)
    if browser is not None:
        browser.close()  # type: ignore[attr-defined]
    if playwright is not None:
        playwright.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def browser() -> Iterator:  # type: ignore[type-arg]
    from conftest import require_services

    if not Path(CHROMIUM).exists():
        if require_services():
            pytest.fail(f"Chromium is required here but {CHROMIUM} is missing (make chromium)")
        pytest.skip(f"Chromium not installed at {CHROMIUM}; run 'make chromium'")
    yield _launch()


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
