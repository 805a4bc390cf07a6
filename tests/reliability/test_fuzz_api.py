"""The JSON API under fuzzing: schemathesis against the OpenAPI description the service publishes
(GET /api/openapi.json, over loopback with a signed-in session and its CSRF token) and Hypothesis over
methods, paths, query strings, bodies, content types and CSRF headers. No 500, no stack trace."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.app.conftest import (  # noqa: F401 - the fixtures of tests/app apply here too
    AppServer, Browser, sim,
)

AREA = "Attack and bad input"
LEAKS = ("Traceback", 'File "', "site-packages", "sqlalchemy.", "werkzeug.", "jinja2.")
SCHEMATHESIS_EXAMPLES = 40
FUZZ_EXAMPLES = 300
_FAST = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}


def _no_stack_trace(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A schemathesis check: no stack trace or internal module name in any body."""
    text = response.content.decode(errors="replace")
    leaked = [leak for leak in LEAKS if leak in text]
    if leaked:
        raise AssertionError(f"stack trace text {leaked} in the response to {case.method} {case.path}")


def _connected_browser(app_server: AppServer) -> Browser:
    browser = Browser(app_server)
    browser.signup()
    assert browser.connect().status_code == 200
    return browser


def test_schemathesis_against_published_openapi(tmp_path: Path, sim, reliability_report) -> None:
    app_server = AppServer(tmp_path, sim)
    browser = _connected_browser(app_server)
    token, cookie = browser.api_csrf(), browser.http.cookies["session"]
    calls: Counter[str] = Counter()
    failures: list[str] = []
    try:
        schema = schemathesis.openapi.from_url(app_server.url + "/api/openapi.json")
        operations = sorted((result.ok() for result in schema.get_all_operations()),
                            key=lambda op: (op.method.upper() != "GET", op.path))  # status before disconnect
        for operation in operations:
            @settings(max_examples=SCHEMATHESIS_EXAMPLES, **_FAST)
            @given(case=operation.as_strategy())
            def conforms(case: schemathesis.Case) -> None:
                case.cookies = {**(case.cookies or {}), "session": cookie}
                if case.method.upper() == "POST":
                    case.headers = {**(case.headers or {}), "X-CSRFToken": token}
                response = case.call(base_url=app_server.url)
                calls[f"{case.method.upper()} {case.path} {response.status_code}"] += 1
                case.validate_response(response, additional_checks=[_no_stack_trace])

            try:
                conforms()
            except Exception as exc:  # a schemathesis FailureGroup or an assertion: reported, then re-raised
                failures.append(f"{operation.label}: {str(exc)[:300]}")
    finally:
        app_server.stop()
    passed = not failures and len(operations) == 4
    reliability_report.record(
        AREA, "JSON API against its OpenAPI description (schemathesis)",
        f"{sum(calls.values())} generated calls to the {len(operations)} operations of GET /api/openapi.json "
        "(status, disconnect, healthz, livez), signed in with the CSRF header; all default checks "
        "(server error, status code, content type, headers, response schema, ignored auth, ...) + no stack trace",
        "every check passes", "; ".join(f"{k}×{n}" for k, n in sorted(calls.items()))
        + (f"; failures: {failures}" if failures else "; all checks passed"), "none", passed)
    assert passed, failures


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=4), max_leaves=10)
_KNOWN_PATHS = st.sampled_from(["/api/integrations/basecamp/status/", "/api/integrations/basecamp/disconnect",
                                "/api/integrations/basecamp/status", "/api/openapi.json", "/healthz", "/livez",
                                None])  # None: an arbitrary path under /api/
_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
_BODY = st.one_of(st.none(), _JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200),
                  st.just(b"{" * 5000), st.just(b'{"a": ' * 2000))


def test_json_api_fuzz(tmp_path: Path, sim, reliability_report) -> None:
    app_server = AppServer(tmp_path, sim)
    browser = _connected_browser(app_server)
    token = browser.api_csrf()
    signed_in = app_server.app.test_client()
    signed_in.set_cookie("session", browser.http.cookies["session"])
    anonymous = app_server.app.test_client()
    statuses: Counter[int] = Counter()
    bad: list[str] = []

    @settings(max_examples=FUZZ_EXAMPLES, **_FAST)
    @given(method=st.sampled_from(["GET", "POST"]) | st.sampled_from(["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
           path=st.builds(lambda known, text: known or "/api/" + text.replace("?", "").replace("#", ""),
                          _KNOWN_PATHS, _HEADER_TEXT),
           query=st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=3),
           body=_BODY, content_type=st.sampled_from(["application/json", "text/plain", "application/x-www-form-"
                                                     "urlencoded", "multipart/form-data", ""]) | _HEADER_TEXT,
           csrf=st.sampled_from(["valid", "none"]) | _HEADER_TEXT, authenticated=st.booleans())
    def api_call(method: str, path: str, query: dict[str, str], body: bytes | None, content_type: str, csrf: str,
                 authenticated: bool) -> None:
        headers = {"Content-Type": content_type}
        if csrf != "none":
            headers["X-CSRFToken"] = token if csrf == "valid" else csrf
        client = signed_in if authenticated else anonymous
        response = client.open(path, method=method, query_string=query, data=body, headers=headers)
        text = response.get_data(as_text=True)
        statuses[response.status_code] += 1
        redirect = response.status_code in (301, 308) and urlsplit(response.headers["Location"]).path.startswith("/api/")
        json_body = not text or response.mimetype == "application/json" or not path.startswith("/api/") or redirect
        if response.status_code >= 500 or any(leak in text for leak in LEAKS) or not json_body:
            bad.append(f"{method} {path[:60]!r} -> {response.status_code} {response.mimetype}")
        assert not bad, bad[-1]

    try:
        api_call()
    finally:
        app_server.stop()
        passed = not bad
        reliability_report.record(
            AREA, "JSON API fuzz (Hypothesis)",
            f"{sum(statuses.values())} requests: any method, API paths and arbitrary ones under /api/, arbitrary "
            "query, JSON/binary/deeply nested bodies, arbitrary content types and CSRF headers, signed in or not",
            "no 5xx, no stack trace; every /api/ answer is JSON (or a slash redirect within /api/)",
            "statuses " + ", ".join(f"{code}×{n}" for code, n in sorted(statuses.items()))
            + (f"; bad: {bad[:2]}" if bad else ""), "none", passed)
