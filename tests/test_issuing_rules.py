"""Issuing refusals (quota, hours, inactive) and what an issued ticket reports.

SAMSAT follows the "kantor" schedule of the small test site: Monday
08:00-12:00 and 13:00-15:30, Friday's prayer break 11:00-13:00, no Saturday,
tickets from 30 minutes before opening until 30 minutes before closing, none
during the break. DUKCAPIL has no schedule (always open); its KK service has a
daily quota of 3.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import JAKARTA, KIOSK_KEY, bearer, counter_id, monday_at, service_id, token_for
from sqlalchemy import func, select

from queue_server.extensions import db
from queue_server.models import Agency, Service, Ticket


def issue(client, sid: int, lang: str = "id", **extra):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/tickets?lang={lang}", json={"service_id": sid, **extra},
                       headers=bearer(KIOSK_KEY))


def agency(client, code: str) -> dict:  # type: ignore[type-arg]
    res = client.get("/api/v1/agencies")
    assert res.status_code == 200
    return next(a for a in res.get_json()["agencies"] if a["code"] == code)


def ticket_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Ticket)).scalar_one()


def test_quota_refuses_the_fourth_ticket_and_takes_no_number(app, client) -> None:  # type: ignore[no-untyped-def]
    kk = service_id(app, "DUKCAPIL", "KK")
    numbers = [issue(client, kk).get_json()["number"] for _ in range(3)]
    assert numbers == ["B001", "B002", "B003"]
    service = next(s for s in agency(client, "DUKCAPIL")["services"] if s["code"] == "KK")
    assert (service["quota_left"], service["waiting"]) == (0, 3)

    refused = issue(client, kk)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "quota_exhausted"
    assert "Kartu Keluarga" in error["message"] and "kuota" in error["message"].lower()
    assert ticket_count(app) == 3

    # Another service of the same agency is unaffected; it has no quota (null).
    ktp = service_id(app, "DUKCAPIL", "KTP")
    assert issue(client, ktp).status_code == 201
    service = next(s for s in agency(client, "DUKCAPIL")["services"] if s["code"] == "KTP")
    assert service["quota_left"] is None


def test_cancelled_tickets_still_count_against_the_quota(app, client) -> None:  # type: ignore[no-untyped-def]
    """The quota caps tickets issued (the agency's daily capacity), so a
    visitor cancelling does not let a fourth one in on a three-ticket quota."""
    kk = service_id(app, "DUKCAPIL", "KK")
    tokens = [issue(client, kk).get_json()["token"] for _ in range(3)]
    assert client.post(f"/api/v1/tickets/{tokens[0]}/cancel").status_code == 200
    assert issue(client, kk).get_json()["error"]["code"] == "quota_exhausted"


@pytest.mark.parametrize(
    ("when", "reason"),
    [
        (monday_at(7, 0), "before_open"),
        (monday_at(12, 30), "break"),
        (monday_at(15, 10), "after_cutoff"),
        (monday_at(16, 0), "closed"),
        (dt.datetime(2026, 11, 27, 11, 30, tzinfo=JAKARTA), "break"),  # Friday prayer
        (dt.datetime(2026, 11, 28, 10, 0, tzinfo=JAKARTA), "closed"),  # Saturday
    ],
)
def test_schedule_refusals_give_the_reason(app, client, clock, when, reason) -> None:  # type: ignore[no-untyped-def]
    pkb = service_id(app, "SAMSAT", "PKB")
    clock.set(when)
    listed = agency(client, "SAMSAT")["open"]
    assert (listed["can_issue"], listed["reason"]) == (False, reason)

    res = issue(client, pkb)
    assert res.status_code == 422
    assert res.get_json()["error"]["code"] == f"agency_{reason}"
    assert "UPT Samsat" in res.get_json()["error"]["message"]
    assert ticket_count(app) == 0


def test_refusal_says_when_the_agency_opens_again(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    pkb = service_id(app, "SAMSAT", "PKB")
    clock.set(monday_at(12, 30))
    error = issue(client, pkb).get_json()["error"]
    assert error["details"]["next_open"] == "13:00"
    assert "13:00" in error["message"]
    assert agency(client, "SAMSAT")["open"]["next_open"].startswith("2026-11-23T13:00")

    clock.set(dt.datetime(2026, 11, 28, 10, 0, tzinfo=JAKARTA))  # Saturday: next is Monday 07:30
    error = issue(client, pkb).get_json()["error"]
    assert error["details"]["next_open_date"] == "2026-11-30"


@pytest.mark.parametrize(
    "when",
    [monday_at(7, 40), monday_at(8, 0), monday_at(11, 59), monday_at(13, 0), monday_at(14, 59)],
)
def test_schedule_allows_issuing_inside_the_window(app, client, clock, when) -> None:  # type: ignore[no-untyped-def]
    """From 30 minutes before opening until the cut-off, outside the break."""
    clock.set(when)
    assert agency(client, "SAMSAT")["open"]["can_issue"] is True
    res = issue(client, service_id(app, "SAMSAT", "PKB"))
    assert res.status_code == 201, res.get_json()
    assert res.get_json()["number"] == "S001"


def test_inactive_service_and_agency_are_refused_separately(app, client) -> None:  # type: ignore[no-untyped-def]
    ktp = service_id(app, "DUKCAPIL", "KTP")
    with app.app_context():
        db.session.get(Service, ktp).active = False
        db.session.commit()
    res = issue(client, ktp)
    assert (res.status_code, res.get_json()["error"]["code"]) == (422, "service_inactive")

    with app.app_context():
        db.session.get(Service, ktp).active = True
        db.session.execute(select(Agency).where(Agency.code == "DUKCAPIL")).scalar_one().active = False
        db.session.commit()
    res = issue(client, ktp)
    assert (res.status_code, res.get_json()["error"]["code"]) == (422, "agency_inactive")
    listed = agency(client, "DUKCAPIL")["open"]
    assert (listed["can_issue"], listed["reason"]) == (False, "inactive")
    assert ticket_count(app) == 0


def test_refusal_message_follows_the_language(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    clock.set(monday_at(16, 0))
    pkb = service_id(app, "SAMSAT", "PKB")
    indonesian = issue(client, pkb, lang="id").get_json()["error"]["message"]
    english = issue(client, pkb, lang="en").get_json()["error"]["message"]
    assert indonesian != english
    assert "closed" in english and "tutup" in indonesian.lower()


def test_ahead_and_estimate_follow_the_queue_and_open_counters(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """KTP's seed is 10 minutes a visitor. With no counter open yet, both
    configured counters are assumed to open: the 3rd ticket has 2 ahead and
    waits ceil(2 x 10 / 2) = 10 min. With one counter open it is 2 x 10 = 20;
    then measured service times take over from the seed."""
    ktp = service_id(app, "DUKCAPIL", "KTP")
    first = issue(client, ktp).get_json()
    assert (first["ahead"], first["estimated_wait_minutes"]) == (0, 0)
    issue(client, ktp)
    third = issue(client, ktp).get_json()
    assert (third["ahead"], third["estimated_wait_minutes"]) == (2, 10)

    officer = token_for(client, "dukcapil1")
    loket1 = counter_id(app, "DUK-1")
    assert client.post(f"/api/v1/counters/{loket1}/open", headers=officer).status_code == 200
    status = client.get(f"/api/v1/tickets/{third['token']}").get_json()
    assert (status["ahead"], status["position"], status["estimated_wait_minutes"]) == (2, 3, 20)

    # Real service times replace the seed gradually: the mean of the last 20
    # finished visits is blended with the seed by how many there are. Ten
    # visits of 4 minutes give 0.5 x 4 + 0.5 x 10 = 7 minutes a visitor.
    more = [issue(client, ktp).get_json() for _ in range(9)]
    for _ in range(10):
        assert client.post(f"/api/v1/counters/{loket1}/call-next", headers=officer).status_code == 200
        assert client.post(f"/api/v1/counters/{loket1}/start", headers=officer).status_code == 200
        clock.advance(minutes=4)
        assert client.post(f"/api/v1/counters/{loket1}/finish", headers=officer).status_code == 200
    status = client.get(f"/api/v1/tickets/{more[-1]['token']}").get_json()
    assert (status["ahead"], status["estimated_wait_minutes"]) == (1, 7)
    latest = issue(client, ktp).get_json()
    assert (latest["ahead"], latest["estimated_wait_minutes"]) == (2, 14)


def test_priority_ticket_reports_fewer_ahead_under_strict(app, client) -> None:  # type: ignore[no-untyped-def]
    from queue_server.domain.site import get_site

    with app.app_context():
        get_site(db.session).priority_mode = "strict"
        db.session.commit()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    for _ in range(3):
        issue(client, ktp)
    elderly = issue(client, ktp, priority="elderly").get_json()
    assert (elderly["ahead"], elderly["priority"]) == (0, "elderly")
    normal = issue(client, ktp).get_json()
    assert normal["ahead"] == 4  # three earlier normal tickets and the priority one


def test_a_floor_kiosk_offers_and_issues_only_its_agencies(app, client) -> None:  # type: ignore[no-untyped-def]
    from queue_server.models import Device

    with app.app_context():
        kiosk = db.session.execute(select(Device).where(Device.code == "KIOSK-1")).scalar_one()
        kiosk.settings = {"zones": ["Lantai 2"]}  # SAMSAT only
        db.session.commit()
    listed = client.get("/api/v1/agencies", headers=bearer(KIOSK_KEY)).get_json()["agencies"]
    assert [a["code"] for a in listed] == ["SAMSAT"]
    assert len(client.get("/api/v1/agencies").get_json()["agencies"]) == 2  # the public list is whole

    refused = issue(client, service_id(app, "DUKCAPIL", "KTP"))
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "service_not_offered")
    assert "Perekaman KTP-el" in refused.get_json()["error"]["message"]
    assert ticket_count(app) == 0
