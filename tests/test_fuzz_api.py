"""Every JSON endpoint under /api/v1, fed malformed and hostile input (hypothesis).

The endpoints are read from the app's url_map, so a new endpoint is fuzzed
without touching this file. Each request mixes: a path id that is valid,
absurd (0, 2**31, 2**70) or plain junk text; a query string with the
arguments the API reads and random ones; a body that is empty, binary junk,
broken or deeply nested JSON, JSON of the wrong type, an object whose known
fields hold values of any type, or larger than the 64 KiB limit; and no
credential, a junk one, or a real kiosk, display, officer, manager or admin
credential. Every answer must be a 2xx or a 4xx in the API's error shape,
never a 5xx.

In-process (Flask test client) on one SQLite file per module, with a fixed
number of examples per endpoint, so the module runs in well under a minute.
For a deeper hunt: ANTRIAN_FUZZ_EXAMPLES=300 (examples per endpoint) and
ANTRIAN_FUZZ_POSTGRES=1 (PostgreSQL refuses input SQLite takes, e.g. NUL in text).
Rate limits are off here (tests/test_rate_limits.py covers them): a 429
would hide the view behind it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from conftest import (
    DISPLAY_KEY,
    KIOSK_KEY,
    bearer,
    make_app,
    monday_at,
    postgres_url,
    reset_postgres,
    service_id,
    token_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_api_errors import assert_error

from queue_server import create_app
from queue_server.domain.clock import FixedClock
from queue_server.extensions import db

EXAMPLES = int(os.environ.get("ANTRIAN_FUZZ_EXAMPLES", 30))  # per endpoint and method
ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")
FIELDS = ("service_id", "ticket_id", "priority", "request_id", "note", "username", "password",
          "scores", "suggestion", "kiosk", "counter_id", "key", "lang")
QUERY_NAMES = ("lang", "from", "to", "agency", "service", "counter", "officer", "by", "format", "x")


def _api_rules() -> list[tuple[str, str]]:
    """(rule, method) of every /api/v1 endpoint, read from a throwaway app's url_map."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "ASYNC_MODE": "threading",
                      "SOCKETIO_MESSAGE_QUEUE": None})
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.rule, method))
    return sorted(found)


API_RULES = _api_rules()


# -- the site being fuzzed ---------------------------------------------------------


@dataclass
class Site:
    """The fuzzed app with a few real ids, tokens and credentials to draw from."""

    app: Any
    tokens: list[str]
    ids: list[int]
    auth: list[dict[str, str]] = field(default_factory=list)

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return "<the small site, 3 tickets, counter 1 open>"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    """One app for the module, with a few tickets, an open counter and real credentials."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'antrian.db'}"
    if os.environ.get("ANTRIAN_FUZZ_POSTGRES") == "1":
        url = postgres_url()
        reset_postgres(url)
    app = make_app(url, FixedClock(monday_at(9, 30)), RATELIMIT_ENABLED=False)
    client = app.test_client()
    ktp = service_id(app, "DUKCAPIL", "KTP")
    tickets = [client.post("/api/v1/tickets", json={"service_id": ktp}, headers=bearer(KIOSK_KEY))
               .get_json() for _ in range(3)]
    officer = token_for(client, "dukcapil1")
    assert client.post("/api/v1/counters/1/open", headers=officer).status_code == 200
    assert client.post("/api/v1/counters/1/call-next", headers=officer).status_code == 200
    yield Site(app, [t["token"] for t in tickets], [t["id"] for t in tickets], [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-real-key-at-all"},
        {"Authorization": "Basic YWRtaW46YWRtaW4tZGVtbw=="},
        {"Authorization": "Bearer " + "k" * 5000},
        bearer(KIOSK_KEY),
        bearer(DISPLAY_KEY),
        officer,
        token_for(client, "manajer", "manajer-demo"),
        token_for(client, "admin", "admin-demo"),
    ])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# -- strategies ----------------------------------------------------------------------

# Text a client can send at all (no lone surrogates); raw bytes come from st.binary below.
junk_text = st.text(st.characters(codec="utf-8"), max_size=60)
# A path value holding "/" (even as %2F, which is decoded first) is another path: routing's business.
path_text = st.text(st.characters(codec="utf-8", exclude_characters="/"), min_size=1, max_size=60)
numbers = st.one_of(
    st.integers(min_value=-3, max_value=6),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**70, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
)
json_scalars = st.one_of(st.none(), st.booleans(), numbers, junk_text)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(junk_text, children,
                                                                      max_size=4),
    max_leaves=12,
)
field_objects = st.fixed_dictionaries({}, optional={name: json_values for name in FIELDS})
hostile_bodies = st.sampled_from([
    b"{", b'{"service_id": 1', b"\xff\xfe\x00", b"[]", b"null", b"1e999999", b'"\\ud800"',
    b"[" * 60000, b'{"a":' * 20000, b'{"service_id": 1, "service_id": "x"}', b"NaN",
    b'{"scores": [1e400, -0.0]}', b"\x00" * 100, b"x" * (70 * 1024),
])


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    st.none(),
    field_objects.map(_dump),
    json_values.map(_dump),
    st.binary(max_size=120),
    junk_text.map(str.encode),
    hostile_bodies,
)
content_types = st.sampled_from([None, "application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "application/json; charset=utf-16", "multipart/form-data"])
query_values = st.one_of(
    junk_text,
    st.sampled_from(["en", "id", "0001-01-01", "9999-12-31", "2026-11-23", "2026-W48-1", "\u00b2",
                     "\u0661\u0662", "99999999999999999999", "-1", "0", "1", "service", "agency"]),
)
queries = st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | st.text(max_size=8), query_values), max_size=4)


def path_for(rule: str, data: st.DataObject, site: Site) -> str:
    """The rule with every <argument> filled: a real value, an absurd one or junk text."""

    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            real = st.sampled_from(site.ids + [1, 2, 3])
            value = data.draw(st.one_of(real, numbers.filter(lambda n: isinstance(n, int)).map(abs),
                                        path_text), label=name)
        else:
            value = data.draw(st.one_of(st.sampled_from(site.tokens), path_text), label=name)
        return quote(str(value), safe="")

    return ARGUMENT.sub(fill, rule)


# -- the property ---------------------------------------------------------------------


def _name(param: tuple[str, str]) -> str:
    return f"{param[1]} {param[0]}"


def test_every_api_endpoint_is_fuzzed() -> None:
    """The list comes from the url_map: the main endpoints are in it, so a new one will be too."""
    endpoints = {(rule, method) for rule, method in API_RULES}
    assert {("/api/v1/tickets", "POST"), ("/api/v1/auth/token", "POST"),
            ("/api/v1/counters/<int:counter_id>/call-next", "POST"),
            ("/api/v1/tickets/<token>", "GET")} <= endpoints
    assert len(endpoints) >= 25


@pytest.mark.parametrize("endpoint", API_RULES, ids=[_name(p) for p in API_RULES])
@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_input_gets_a_4xx_in_shape_never_a_5xx(site: Site, endpoint: tuple[str, str],
                                                      data: st.DataObject) -> None:
    rule, method = endpoint
    path = path_for(rule, data, site)
    headers = dict(data.draw(st.sampled_from(site.auth), label="auth"))
    if data.draw(st.booleans(), label="junk Accept-Language"):
        headers["Accept-Language"] = data.draw(st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                                       max_size=40))
    query = data.draw(queries, label="query")
    body = data.draw(bodies, label="body")
    content_type = data.draw(content_types, label="content type")
    res = site.app.test_client().open(path, method=method, query_string=query, data=body,
                                         headers=headers, content_type=content_type)
    seen = f"{method} {path} query={query!r} body={(body or b'')[:200]!r} -> {res.status_code}: " \
           f"{res.get_data(as_text=True)[:300]}"
    assert res.status_code < 500, seen
    assert 200 <= res.status_code < 300 or 400 <= res.status_code < 500, seen
    assert res.is_json, seen
    if res.status_code >= 400:
        assert_error(res, res.status_code)


EDGE_QUERY_VALUES = ("0001-01-01", "9999-12-31", "\u00b2", "99999999999999999999", "a\x00b")
READ_BY_THE_API = ("lang", "from", "to", "agency", "service", "counter", "officer", "by")


@pytest.mark.parametrize("endpoint", [rule for rule, method in API_RULES if method == "GET"])
def test_every_query_argument_at_its_edges(site: Site, endpoint: str) -> None:
    """Each argument the API reads, alone, at values random draws rarely combine with the
    admin's credential (which reaches every endpoint, the reports included)."""
    path = ARGUMENT.sub(lambda m: "1" if m.group(1) == "int" else site.tokens[0], endpoint)
    client = site.app.test_client()
    for name in READ_BY_THE_API:
        for value in EDGE_QUERY_VALUES:
            res = client.get(path, query_string={name: value}, headers=site.auth[-1])
            assert res.status_code < 500 and res.is_json, (path, name, value, res.status_code)
            if res.status_code >= 400:
                assert_error(res, res.status_code)


def test_path_arguments_use_converters_the_fuzzer_knows() -> None:
    """Guard for path_for: a new converter (float, uuid...) needs its own values here."""
    for rule, _method in API_RULES:
        for match in ARGUMENT.finditer(rule):
            assert match.group(1) in (None, "int"), rule
