"""The satisfaction survey through the API and the IKM report aggregated in SQL,
on SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import KIOSK_KEY, bearer, counter_id, service_id, token_for

ALL = ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9")


def served_ticket(app, client, officer) -> str:  # type: ignore[no-untyped-def]
    res = client.post("/api/v1/tickets", json={"service_id": service_id(app, "DUKCAPIL", "KTP")},
                      headers=bearer(KIOSK_KEY))
    token = res.get_json()["token"]
    loket1 = counter_id(app, "DUK-1")
    client.post(f"/api/v1/counters/{loket1}/open", headers=officer)
    client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer)
    assert client.post(f"/api/v1/counters/{loket1}/finish", headers=officer).status_code == 200
    return token


def scores(value: int, **overrides: int) -> dict[str, int]:
    return {code: overrides.get(code, value) for code in ALL}


def test_one_survey_per_finished_visit_and_the_ikm_by_hand(app, client) -> None:  # type: ignore[no-untyped-def]
    officer = token_for(client, "dukcapil1")
    tokens = [served_ticket(app, client, officer) for _ in range(3)]
    answers = [scores(3, U1=4), scores(3), scores(4, U9=2)]
    for token, given in zip(tokens, answers, strict=True):
        body = {"scores": given, "suggestion": "Antre rapi"}
        res = client.post(f"/api/v1/tickets/{token}/survey", json=body)
        assert res.status_code == 201, res.get_json()

    again = client.post(f"/api/v1/tickets/{tokens[0]}/survey", json={"scores": scores(1)})
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "survey_exists")

    manager = token_for(client, "manajer", "manajer-demo")
    report = client.get("/api/v1/reports/ikm?from=2026-11-23&to=2026-11-23", headers=manager).get_json()
    # U1 = 11/3, U2..U8 = 10/3, U9 = 8/3: IKM 89/27 = 3.2963, score 82.41, B (worked out in test_ikm.py)
    assert (report["respondents"], report["ikm"], report["score"], report["grade"], report["label_id"]) == (
        3, 3.2963, 82.41, "B", "Baik")
    assert report["nrr"]["U1"] == 3.6667 and report["nrr"]["U9"] == 2.6667
    assert [e["code"] for e in report["elements"]] == list(ALL)
    samsat = service_id(app, "SAMSAT", "PKB")  # another agency: no responses, no index
    with app.app_context():
        from queue_server.extensions import db
        from queue_server.models import Service

        samsat_agency = db.session.get(Service, samsat).agency_id
    other = client.get(f"/api/v1/reports/ikm?agency={samsat_agency}", headers=manager).get_json()
    assert (other["respondents"], other["score"], other["grade"]) == (0, None, None)
    assert client.get("/api/v1/reports/ikm", headers=officer).status_code == 403


def test_survey_refusals(app, client) -> None:  # type: ignore[no-untyped-def]
    waiting = client.post("/api/v1/tickets", json={"service_id": service_id(app, "DUKCAPIL", "KTP")},
                          headers=bearer(KIOSK_KEY)).get_json()["token"]
    early = client.post(f"/api/v1/tickets/{waiting}/survey", json={"scores": scores(4)})
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "survey_not_yet")
    assert "A001" in early.get_json()["error"]["message"]
    for bad in ({"scores": {"U1": 5}}, {"scores": {"U10": 3}}, {"scores": []}, {"scores": {}}):
        res = client.post(f"/api/v1/tickets/{waiting}/survey", json=bad)
        assert (res.status_code, res.get_json()["error"]["code"]) == (422, "invalid_survey"), bad
    missing = client.post("/api/v1/tickets/unknown-token/survey", json={"scores": scores(4)})
    assert missing.status_code == 404
    bad_date = client.get("/api/v1/reports/ikm?from=23-11-2026",
                          headers=token_for(client, "manajer", "manajer-demo"))
    assert (bad_date.status_code, bad_date.get_json()["error"]["code"]) == (422, "invalid_field")
