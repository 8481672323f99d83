"""The report page in Chromium: Chart.js draws the daily and weekly charts from
the embedded figures, and choosing an agency narrows the filter. SQLite only:
the figures themselves are checked on both databases in test_report_pages."""

from __future__ import annotations

import re

import pytest
from browser import ARTIFACTS, browser, served  # noqa: F401
from report_data import loaded_app


@pytest.fixture
def app(sqlite_url, clock):  # type: ignore[no-untyped-def]
    yield from loaded_app(sqlite_url, clock)


@pytest.mark.browser
def test_report_page_draws_charts_in_chromium(app, browser, served) -> None:  # noqa: F811
    page = browser.new_page()
    page.goto(served + "/auth/login?next=/manager/reports")
    page.fill("input[name=username]", "manajer")
    page.fill("input[name=password]", "manajer-demo")
    page.click("input[type=submit]")
    page.wait_for_url(served + "/manager/reports")
    page.fill("input[name=from]", "2026-11-16")
    page.fill("input[name=to]", "2026-11-23")
    page.click("#report-filter button[type=submit]")
    page.wait_for_url(re.compile(r"from=2026-11-16"))
    # Chart.js ran: each canvas drew one point per day / week of the period
    assert page.locator("#chart-daily").get_attribute("data-rendered") == "8"
    assert page.locator("#chart-weekly").get_attribute("data-rendered") == "2"
    assert page.evaluate("Chart.getChart(document.getElementById('chart-daily')).data.datasets[0].data") == [
        3, 3, 0, 0, 0, 0, 0, 2]
    assert page.locator("[data-figure=issued] strong").inner_text() == "8"
    assert page.locator("table.heatmap tbody tr").nth(0).locator("td").nth(8).inner_text() == "4"
    page.select_option("select[name=agency]", label="DUKCAPIL - Dinas Kependudukan dan Pencatatan Sipil")
    page.wait_for_url(re.compile(r"agency=\d"))
    assert page.locator("select[name=service] option").count() == 3  # All, KTP, KK
    assert page.locator("[data-figure=issued] strong").inner_text() == "7"
    page.screenshot(path=str(ARTIFACTS / "manager-reports.png"), full_page=True)
    page.close()
