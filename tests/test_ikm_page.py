"""The satisfaction index page (/manager/ikm) and its CSV: the numbers of a
small set of responses, worked out by hand, per agency and overall, for a
period and an agency; who may open it; suggestions escaped. SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from conftest import KIOSK_KEY, bearer, counter_id, make_app, monday_at, service_id, token_for

from queue_server.extensions import db

ALL = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")
XSS = '<script>alert("saran")</script> & kursi'


def scores(value: int, **overrides: int) -> dict[str, int]:
    return {code: overrides.get(code, value) for code in ALL}


@pytest.fixture
def app(database_url, clock) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    application = make_app(database_url, clock, WTF_CSRF_ENABLED=False)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def answer(app, client, clock, agency: str, service: str, counter: str, officer: str,  # type: ignore[no-untyped-def]
           given: dict[str, int], suggestion: str = "") -> None:
    """One visitor: issued, served and finished at ``counter``, then the survey."""
    res = client.post("/api/v1/tickets", json={"service_id": service_id(app, agency, service)},
                      headers=bearer(KIOSK_KEY))
    token = res.get_json()["token"]
    headers = token_for(client, officer)
    counter_pk = counter_id(app, counter)
    client.post(f"/api/v1/counters/{counter_pk}/open", headers=headers)
    assert client.post(f"/api/v1/counters/{counter_pk}/call-next", headers=headers).status_code == 200
    assert client.post(f"/api/v1/counters/{counter_pk}/finish", headers=headers).status_code == 200
    clock.advance(minutes=1)
    res = client.post(f"/api/v1/tickets/{token}/survey", json={"scores": given, "suggestion": suggestion})
    assert res.status_code == 201, res.get_json()


@pytest.fixture
def responses(app, clock) -> None:  # type: ignore[no-untyped-def]
    """Monday 2026-11-23: DUKCAPIL 3 (the example of test_ikm.py), SAMSAT 2;
    Tuesday 2026-11-24: one more for DUKCAPIL, all 1s."""
    client = app.test_client()
    duk = ("DUKCAPIL", "KTP", "DUK-1", "dukcapil1")
    sam = ("SAMSAT", "PKB", "SAM-1", "samsat1")
    answer(app, client, clock, *duk, scores(3, U1=4), "Antre rapi")
    answer(app, client, clock, *duk, scores(3))
    answer(app, client, clock, *duk, scores(4, U9=2), "AC panas")
    answer(app, client, clock, *sam, scores(4), "Cepat")
    answer(app, client, clock, *sam, scores(4, U3=3))
    clock.set(monday_at(10, 0).replace(day=24))
    answer(app, client, clock, *duk, scores(1), XSS)


def logged_in(app, username: str, password: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    res = client.post("/auth/login", data={"username": username, "password": password})
    assert res.status_code == 302, res.get_data(as_text=True)[:500]
    return client


class Rows(HTMLParser):
    """Cell texts of each <tr data-agency=...> of the IKM table, by data-col."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self._row: str | None = None
        self._col: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and found.get("data-agency"):
            self._row = found["data-agency"]
            self.rows[self._row] = {}
        elif tag == "td" and self._row and found.get("data-col"):
            self._col = found["data-col"]
            self.rows[self._row][self._col] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._col = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row and self._col:
            self.rows[self._row][self._col] += data

    @classmethod
    def of(cls, html: str) -> dict[str, dict[str, str]]:
        parser = cls()
        parser.feed(html)
        return {agency: {k: " ".join(v.split()) for k, v in cells.items()}
                for agency, cells in parser.rows.items()}


def expected(respondents: int, nrr: list[str], ikm: str, score: str, grade: str) -> dict[str, str]:
    return {"respondents": str(respondents), **dict(zip(ALL, nrr, strict=True)), "ikm": ikm, "score": score,
            "grade": grade}


# Monday only. DUKCAPIL: U1 = 11/3, U2..U8 = 10/3, U9 = 8/3; IKM 89/27 = 3.2963; x 25 = 82.41 (B).
DUK_MONDAY = expected(3, ["3,67"] + ["3,33"] * 7 + ["2,67"], "3,2963", "82,41", "B Baik")
# SAMSAT: U3 = 7/2, the rest 4; IKM 35.5/9 = 3.9444; x 25 = 98.61 (A).
SAM = expected(2, ["4,00", "4,00", "3,50"] + ["4,00"] * 6, "3,9444", "98,61", "A Sangat Baik")
# All five: U1 = 19/5, U2 and U4..U8 = 18/5, U3 = 17/5, U9 = 16/5; sum 32; IKM 32/9 = 3.5556; 88.89 (A).
ALL_MONDAY = expected(5, ["3,80", "3,60", "3,40"] + ["3,60"] * 5 + ["3,20"], "3,5556", "88,89",
                      "A Sangat Baik")
# The month so far (to Tuesday): DUKCAPIL adds a respondent of 1s: U1 = 12/4, U2..U8 = 11/4, U9 = 9/4;
# sum 24.5; IKM 2.7222; x 25 = 68.06 (C).
DUK_MONTH = expected(4, ["3,00"] + ["2,75"] * 7 + ["2,25"], "2,7222", "68,06", "C Kurang Baik")
# All six: U1 = 20/6, U2 and U4..U8 = 19/6, U3 = 18/6, U9 = 17/6; sum 169/6; IKM 169/54 = 3.1296;
# x 25 = 78.24 (B).
ALL_MONTH = expected(6, ["3,33", "3,17", "3,00"] + ["3,17"] * 5 + ["2,83"], "3,1296", "78,24", "B Baik")


def test_numbers_per_agency_and_overall_by_hand(app, responses) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    page = manager.get("/manager/ikm?from=2026-11-23&to=2026-11-23")
    assert page.status_code == 200
    rows = Rows.of(page.get_data(as_text=True))
    assert rows == {"DUKCAPIL": DUK_MONDAY, "SAMSAT": SAM, "ALL": ALL_MONDAY}

    # Default: this month up to today (Tuesday 24th), Tuesday's respondent included.
    html = manager.get("/manager/ikm").get_data(as_text=True)
    assert 'name="from" value="2026-11-01"' in html and 'name="to" value="2026-11-24"' in html
    assert Rows.of(html) == {"DUKCAPIL": DUK_MONTH, "SAMSAT": SAM, "ALL": ALL_MONTH}
    assert "Hari layanan 2026-11-01 sampai 2026-11-24" in html

    # One agency: its row, and the overall row is the same agency.
    with app.app_context():
        from queue_server.models import Agency

        samsat = db.session.query(Agency).filter_by(code="SAMSAT").one().id
    rows = Rows.of(manager.get(f"/manager/ikm?agency={samsat}").get_data(as_text=True))
    assert rows == {"SAMSAT": SAM, "ALL": SAM}

    # A period without responses: no index, dashes.
    rows = Rows.of(manager.get("/manager/ikm?from=2026-10-01&to=2026-10-31").get_data(as_text=True))
    assert rows["ALL"] == expected(0, ["–"] * 9, "–", "–", "–")

    # English: dots and the English grade.
    rows = Rows.of(manager.get("/manager/ikm?from=2026-11-23&to=2026-11-23&lang=en").get_data(as_text=True))
    duk = rows["DUKCAPIL"]
    assert (duk["U1"], duk["score"], duk["grade"]) == ("3.67", "82.41", "B Good")


def test_suggestions_newest_first_and_escaped(app, responses) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    html = manager.get("/manager/ikm").get_data(as_text=True)
    table = html[html.index('id="ikm-suggestions"'):]
    assert '&lt;script&gt;alert(&#34;saran&#34;)&lt;/script&gt; &amp; kursi' in table
    assert '<script>alert("saran")' not in html
    order = [table.index(text) for text in ("&lt;script&gt;", "Cepat", "AC panas", "Antre rapi")]
    assert order == sorted(order)  # newest first; the empty suggestions are not listed
    quiet = manager.get("/manager/ikm?from=2026-10-01&to=2026-10-31").get_data(as_text=True)
    assert "Tidak ada saran pada periode ini." in quiet


def test_csv_has_the_same_numbers(app, responses) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    res = manager.get("/manager/ikm.csv?from=2026-11-23&to=2026-11-23")
    assert res.status_code == 200 and res.mimetype == "text/csv"
    assert 'filename="ikm-2026-11-23-2026-11-23.csv"' in res.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(res.get_data(as_text=True).lstrip("\ufeff"))))
    assert [r["agency_code"] for r in rows] == ["DUKCAPIL", "SAMSAT", "ALL"]
    duk, sam, everyone = rows
    assert (duk["respondents"], duk["U1"], duk["U2"], duk["U9"], duk["ikm"], duk["score"], duk["grade"],
            duk["grade_label"]) == ("3", "3.6667", "3.3333", "2.6667", "3.2963", "82.41", "B", "Baik")
    assert (sam["U3"], sam["ikm"], sam["score"], sam["grade"]) == ("3.5000", "3.9444", "98.61", "A")
    assert (everyone["respondents"], everyone["ikm"], everyone["score"], everyone["grade"]) == (
        "5", "3.5556", "88.89", "A")


def test_bad_filters_are_reported_not_fatal(app, responses) -> None:  # type: ignore[no-untyped-def]
    manager = logged_in(app, "manajer", "manajer-demo")
    html = manager.get("/manager/ikm?from=kemarin&agency=999").get_data(as_text=True)
    assert "&#39;kemarin&#39; bukan tanggal" in html
    assert "Instansi tersebut tidak ada" in html
    assert Rows.of(html)["ALL"] == ALL_MONTH
    html = manager.get("/manager/ikm?from=2026-11-24&to=2026-11-23").get_data(as_text=True)
    assert "Awal periode jatuh sesudah akhirnya" in html and Rows.of(html)["ALL"] == ALL_MONTH


def test_only_managers_and_admins(app) -> None:  # type: ignore[no-untyped-def]
    for path in ("/manager/ikm", "/manager/ikm.csv"):
        res = app.test_client().get(path)
        assert res.status_code == 302 and "/auth/login" in res.headers["Location"], path
        assert logged_in(app, "dukcapil1", "petugas-demo").get(path).status_code == 403
        assert logged_in(app, "admin", "admin-demo").get(path).status_code == 200
