"""The server's own pages in real Chromium: the landing page and staff login."""

from __future__ import annotations

import pytest
from browser import ARTIFACTS, browser, served  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """Browser tests need one database only."""
    return sqlite_url


def test_landing_page_names_the_site_and_links_login(browser, served) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(served + "/")
    assert page.locator("h1").inner_text() == "MPP Uji"
    page.get_by_role("link", name="EN", exact=True).click()
    assert page.locator("a[href='/auth/login']").count() >= 1
    page.close()


def test_officer_logs_in_and_out_and_a_wrong_password_is_explained(browser, served) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(served + "/auth/login?lang=en")
    page.fill("input[name=username]", "dukcapil1")
    page.fill("input[name=password]", "wrong-password")
    page.click("input[type=submit]")
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    page.fill("input[name=username]", "dukcapil1")
    page.fill("input[name=password]", "petugas-demo")
    page.click("input[type=submit]")
    page.wait_for_url(served + "/")
    assert page.get_by_role("button", name="Log out").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "landing-logged-in.png"))
    page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("link", name="Log in", exact=True).is_visible()
    page.close()
