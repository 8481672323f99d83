"""The report page, its CSV and XLSX exports and the weekly summary: who may
open them, and that all of them hold the same numbers (tests/report_data.py)."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from report_data import loaded_app

PERIOD = "from=2026-11-16&to=2026-11-23"


@pytest.fixture
def app(database_url, clock):  # type: ignore[no-untyped-def]
    yield from loaded_app(database_url, clock)


def logged_in(app, username: str, password: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": password}).status_code == 302
    return client


class Tables(HTMLParser):
    """Cell texts of every <table data-table=...> on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("data-table"):
            self._table = dict(attrs)["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._table and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def as_text(value: object) -> str | float:
    """A cell as the page shows it; numbers compared as numbers (XLSX keeps 10.0 as 10)."""
    if value in (None, ""):
        return "–"
    try:
        return float(str(value))
    except ValueError:
        return str(value)


def test_only_managers_and_admins(app) -> None:  # type: ignore[no-untyped-def]
    anonymous = app.test_client()
    paths = ("/manager/reports", "/manager/reports.csv", "/manager/reports.xlsx", "/manager/reports/weekly")
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    officer = logged_in(app, "dukcapil1", "petugas-demo")
    for path in ("/manager/reports", "/manager/reports.xlsx", "/manager/reports/weekly"):
        assert officer.get(path).status_code == 403
    assert officer.get("/api/v1/reports/summary").status_code == 403
    assert logged_in(app, "admin", "admin-demo").get("/manager/reports").status_code == 200


def test_page_csv_and_xlsx_hold_the_same_numbers(app) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    response = manager.get(f"/manager/reports?{PERIOD}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    tables = page_tables(html)
    summary = {row[0]: row[1] for row in tables["summary"][1:]}
    # hand-computed in test_reports: 8 issued, median wait 600 s, p90 1320 s, 4 of 7 within target
    assert summary["Diterbitkan"] == "8"
    assert summary["Tunggu: median (menit)"] == "10.0"
    assert summary["Tunggu: persentil ke-90 (menit)"] == "22.0"
    assert summary["Layanan: median (menit)"] == "4.2"  # 250 s
    assert summary["Tunggu sesuai target (%)"] == "57.1"
    assert "57.1 %" in html

    book = load_workbook(io.BytesIO(manager.get(f"/manager/reports.xlsx?{PERIOD}").data))
    assert book.sheetnames == ["summary", "breakdown", "daily", "weekly", "arrivals"]
    for name in book.sheetnames:
        sheet_rows = [[as_text(v) for v in row] for row in book[name].iter_rows(min_row=3, values_only=True)]
        csv_response = manager.get(f"/manager/reports.csv?{PERIOD}&table={name}")
        assert csv_response.status_code == 200
        assert csv_response.mimetype == "text/csv"
        text = csv_response.data.decode("utf-8-sig")
        csv_rows = [[as_text(v) for v in row] for row in csv.reader(io.StringIO(text))]
        page_rows = [[as_text(cell) for cell in row] for row in tables[name]]
        if name == "arrivals":  # the page leaves empty hours blank instead of 0
            page_rows = [page_rows[0][:1] + page_rows[0][1:]] + [
                [row[0]] + [0.0 if cell == "–" else cell for cell in row[1:]] for row in page_rows[1:]]
            page_rows[0][0] = csv_rows[0][0]
        assert sheet_rows == csv_rows == page_rows, name

    weekly = {row[0]: row for row in tables["weekly"][1:]}
    assert weekly["2026-W47"][1] == "6" and weekly["2026-W47"][3] == "4"  # issued, served
    sheet = book["breakdown"]
    assert [cell.value for cell in sheet[3]][0] == "Instansi"
    rows = sheet.iter_rows(min_row=4, values_only=True)
    dukcapil = next(row for row in rows if row[0].startswith("DUKCAPIL"))
    assert dukcapil[1] == 7 and dukcapil[9] == pytest.approx(9.3)  # issued; 560 s average wait
    assert dukcapil[10] == 50  # a number in the sheet, not text


def test_filters_reach_the_exports(app) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    api = manager.get(f"/api/v1/reports/summary?{PERIOD}&agency=1").get_json()
    assert api["breakdown_by"] == "service" and api["totals"]["legs"] == 8
    assert api["wait"] == {"count": 6, "mean": 560.0, "median": 450.0, "p90": 1050.0}
    text = manager.get(f"/manager/reports.csv?{PERIOD}&agency=1&table=summary").data.decode("utf-8-sig")
    rows = dict(csv.reader(io.StringIO(text)))
    assert rows["Tunggu: median (menit)"] == "7.5"  # 450 s
    page = manager.get(f"/manager/reports?{PERIOD}&agency=1").get_data(as_text=True)
    assert "DUKCAPIL/KTP - Perekaman KTP-el" in page
    assert re.search(r'<option value="\d+"\s*>KTP - Perekaman KTP-el</option>', page)  # services offered


def test_bad_filters_are_explained(app) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    response = manager.get("/manager/reports?from=2026-11-23&to=2026-11-01")
    assert response.status_code == 400
    assert "Pilih periode yang tanggal akhirnya tidak sebelum tanggal awal" in response.get_data(as_text=True)
    assert manager.get("/manager/reports.csv?from=kemarin").status_code == 400
    assert manager.get(f"/manager/reports.csv?{PERIOD}&table=secret").status_code == 400
    api = manager.get("/api/v1/reports/summary?agency=x")
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "invalid_field"
    assert manager.get("/api/v1/reports/summary?by=room").status_code == 422


def test_weekly_summary_covers_monday_to_sunday(app) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    html = manager.get("/manager/reports/weekly?week=2026-11-19").get_data(as_text=True)
    assert "2026-11-16 – 2026-11-22" in html and "2026-W47" in html
    tables = page_tables(html)
    summary = {row[0]: row[1] for row in tables["summary"][1:]}
    assert (summary["Diterbitkan"], summary["Dilayani"]) == ("6", "4")
    assert [row[0] for row in tables["daily"][1:]][0] == "2026-11-16" and len(tables["daily"]) == 8
    assert "Belum ada survei kepuasan minggu ini." in html
    assert manager.get("/manager/reports/weekly?week=minggu-lalu").status_code == 400
