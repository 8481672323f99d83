"""The survey's server side beyond POST /tickets/<token>/survey: the status
says whether the visitor may still answer, a counter's tablet gets the ticket
just finished there and answers for it, and the IKM is grouped per agency in
SQL. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from conftest import KIOSK_KEY, bearer, counter_id, service_id, token_for

from queue_server.domain import survey
from queue_server.extensions import db

ALL = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")


def scores(value: int, **overrides: int) -> dict[str, int]:
    return {code: overrides.get(code, value) for code in ALL}


def issue(app, client, agency: str = "DUKCAPIL", service: str = "KTP") -> dict:  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/tickets", json={"service_id": service_id(app, agency, service)},
                      headers=bearer(KIOSK_KEY))
    assert res.status_code == 201, res.get_json()
    return dict(res.get_json())


def serve(client, officer: dict[str, str], counter: int) -> dict:  # type: ignore[no-untyped-def]
    """Call the next ticket at ``counter`` and finish it; the finished ticket (staff view)."""
    client.post(f"/api/v1/counters/{counter}/open", headers=officer)
    assert client.post(f"/api/v1/counters/{counter}/call-next", headers=officer).status_code == 200
    res = client.post(f"/api/v1/counters/{counter}/finish", headers=officer)
    assert res.status_code == 200, res.get_json()
    return dict(res.get_json()["ticket"])


def test_status_tells_whether_the_survey_is_open(app, client) -> None:  # type: ignore[no-untyped-def]
    officer = token_for(client, "dukcapil1")
    ticket = issue(app, client)
    token = ticket["token"]
    assert client.get(f"/api/v1/tickets/{token}").get_json()["survey"] is None  # still waiting
    serve(client, officer, counter_id(app, "DUK-1"))
    assert client.get(f"/api/v1/tickets/{token}").get_json()["survey"] == "open"
    page = client.get(f"/t/{token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="panel-survey" class="panel survey-panel" aria-labelledby="survey-title" >' in html
    assert "Bagaimana pelayanan kami?" in html and "Sangat sopan dan ramah" in html
    assert client.post(f"/api/v1/tickets/{token}/survey", json={"scores": {"U1": 4}}).status_code == 201
    assert client.get(f"/api/v1/tickets/{token}").get_json()["survey"] == "answered"
    html = client.get(f"/t/{token}").get_data(as_text=True)
    assert 'id="panel-survey" class="panel survey-panel" aria-labelledby="survey-title" hidden>' in html
    assert "Terima kasih telah mengisi survei kepuasan." in html


def test_tablet_gets_the_latest_finish_of_its_counter_for_ten_minutes(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    officer = token_for(client, "dukcapil1")
    loket1, loket2 = counter_id(app, "DUK-1"), counter_id(app, "DUK-2")
    first, second = issue(app, client), issue(app, client)
    assert client.get(f"/api/v1/counters/{loket1}/survey", headers=officer).get_json()["ticket"] is None

    done = serve(client, officer, loket1)
    assert done["number"] == first["number"]
    pending = client.get(f"/api/v1/counters/{loket1}/survey", headers=officer).get_json()
    assert pending["ticket"]["id"] == done["id"] and pending["ticket"]["number"] == "A001"
    assert pending["ticket"]["service"]["name"] == "Perekaman KTP-el"
    assert "token" not in pending["ticket"]  # the tablet never holds the visitor's credential
    assert pending["window_seconds"] == 600
    # Another counter of the agency has nothing to offer.
    assert client.get(f"/api/v1/counters/{loket2}/survey", headers=officer).get_json()["ticket"] is None

    clock.advance(minutes=10, seconds=1)
    assert client.get(f"/api/v1/counters/{loket1}/survey", headers=officer).get_json()["ticket"] is None
    late = client.post(f"/api/v1/counters/{loket1}/survey", headers=officer,
                       json={"ticket_id": done["id"], "scores": scores(4)})
    assert (late.status_code, late.get_json()["error"]["code"]) == (409, "survey_closed")
    assert "A001" in late.get_json()["error"]["message"]

    # The next finish is offered; the officer's answers count once.
    newer = serve(client, officer, loket1)
    assert newer["number"] == second["number"]
    offered = client.get(f"/api/v1/counters/{loket1}/survey", headers=officer).get_json()["ticket"]
    assert offered["id"] == newer["id"]
    body = {"ticket_id": newer["id"], "scores": scores(3, U9=2), "suggestion": "  Kursi kurang  "}
    res = client.post(f"/api/v1/counters/{loket1}/survey", headers=officer, json=body)
    assert res.status_code == 201, res.get_json()
    again = client.post(f"/api/v1/counters/{loket1}/survey", headers=officer, json=body)
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "survey_exists")
    assert client.get(f"/api/v1/counters/{loket1}/survey", headers=officer).get_json()["ticket"] is None
    # The visitor's phone now knows it was answered.
    assert client.get(f"/api/v1/tickets/{second['token']}").get_json()["survey"] == "answered"
    with app.app_context():
        from queue_server.models import SurveyResponse

        row = db.session.query(SurveyResponse).one()
        assert (row.token, row.counter_id, row.u1, row.u9, row.suggestion) == (
            second["token"], loket1, 3, 2, "Kursi kurang")


def test_tablet_refusals(app, client) -> None:  # type: ignore[no-untyped-def]
    officer = token_for(client, "dukcapil1")
    loket1, loket2, samsat = counter_id(app, "DUK-1"), counter_id(app, "DUK-2"), counter_id(app, "SAM-1")
    issue(app, client)
    done = serve(client, officer, loket1)
    url = f"/api/v1/counters/{loket1}/survey"
    assert client.get(url).status_code == 401
    assert client.post(url, json={"ticket_id": done["id"], "scores": scores(4)}).status_code == 401
    manager = token_for(client, "manajer", "manajer-demo")
    assert client.get(url, headers=manager).status_code == 403
    other = token_for(client, "samsat1")
    refused = client.get(url, headers=other)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "not_your_counter")
    missing = client.get("/api/v1/counters/999/survey", headers=officer)
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "counter_not_found")
    # The ticket was finished at Loket 1, not Loket 2.
    wrong = client.post(f"/api/v1/counters/{loket2}/survey", headers=officer,
                        json={"ticket_id": done["id"], "scores": scores(4)})
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (404, "ticket_not_found")
    for bad, code in (({"ticket_id": done["id"], "scores": {"U1": 5}}, "invalid_survey"),
                      ({"ticket_id": done["id"], "scores": {}}, "invalid_survey"),
                      ({"ticket_id": done["id"]}, "invalid_survey"),
                      ({"scores": scores(4)}, "invalid_field"),
                      ({"ticket_id": done["id"], "scores": scores(4), "suggestion": "x" * 2001},
                       "invalid_field")):
        res = client.post(url, headers=officer, json=bad)
        assert (res.status_code, res.get_json()["error"]["code"]) == (422, code), bad
    assert client.get(f"/api/v1/counters/{samsat}/survey", headers=token_for(client, "admin", "admin-demo")
                      ).get_json()["ticket"] is None  # an admin may use any counter


def test_ikm_grouped_per_agency_and_latest_suggestions(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    duk_officer, sam_officer = token_for(client, "dukcapil1"), token_for(client, "samsat1")
    loket1, samsat = counter_id(app, "DUK-1"), counter_id(app, "SAM-1")
    given = [("DUKCAPIL", "KTP", loket1, duk_officer, scores(3, U1=4), "Antre rapi"),
             ("DUKCAPIL", "KTP", loket1, duk_officer, scores(3), ""),
             ("DUKCAPIL", "KTP", loket1, duk_officer, scores(4, U9=2), "AC panas"),
             ("SAMSAT", "PKB", samsat, sam_officer, scores(4), "Cepat"),
             ("SAMSAT", "PKB", samsat, sam_officer, {"U1": 4, "U2": 4}, "")]
    for agency, service, counter, officer, answers, suggestion in given:
        token = issue(app, client, agency, service)["token"]
        serve(client, officer, counter)
        clock.advance(minutes=1)
        res = client.post(f"/api/v1/tickets/{token}/survey",
                          json={"scores": answers, "suggestion": suggestion})
        assert res.status_code == 201, res.get_json()
    day = dt.date(2026, 11, 23)
    with app.app_context():
        from queue_server.models import Agency

        ids = {a.code: a.id for a in db.session.query(Agency)}
        by_agency = survey.index_by_agency(db.session, day, day)
        # DUKCAPIL: U1 = 11/3, U2..U8 = 10/3, U9 = 8/3 -> IKM 89/27, score 82.41, B (as in test_ikm.py).
        duk = by_agency[ids["DUKCAPIL"]]
        assert (duk.respondents, duk.ikm, str(duk.score), duk.grade) == (3, Fraction(89, 27), "82.41", "B")
        # SAMSAT: two respondents, U3..U9 answered by one only: every NRR is 4 -> IKM 4, score 100.00, A.
        sam = by_agency[ids["SAMSAT"]]
        assert (sam.respondents, sam.nrr["U1"], sam.nrr["U9"], str(sam.score), sam.grade) == (
            2, 4, 4, "100.00", "A")
        assert set(by_agency) == {ids["DUKCAPIL"], ids["SAMSAT"]}
        assert survey.index_by_agency(db.session, day, day, [ids["SAMSAT"]]).keys() == {ids["SAMSAT"]}
        tuesday = day + dt.timedelta(days=1)
        assert survey.index_by_agency(db.session, tuesday, tuesday) == {}
        latest = survey.latest_suggestions(db.session, day, day)
        assert [(s.text, s.service_name) for s in latest] == [
            ("Cepat", "Pembayaran Pajak Kendaraan Tahunan"), ("AC panas", "Perekaman KTP-el"),
            ("Antre rapi", "Perekaman KTP-el")]
        newest = survey.latest_suggestions(db.session, day, day, [ids["DUKCAPIL"]], limit=1)
        assert [s.text for s in newest] == ["AC panas"]
