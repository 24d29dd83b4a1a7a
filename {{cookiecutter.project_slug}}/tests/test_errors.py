"""Error pages (ASVS 16.5): the site's own page or JSON, never a stack trace."""

import logging

import pytest
from extra_apps import PRODUCTION_URL
from flask import abort

JSON = {"Accept": "application/json"}
TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many requests",
    500: "Something went wrong",
}


@pytest.fixture
def app_with_errors(make_app):
    """A fresh app with routes that fail in every way (added before its first request)."""
    new_app = make_app("testing")

    @new_app.route("/abort/<int:code>")
    def abort_with(code):
        abort(code)

    return new_app


def assert_error_page(response, code: int) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == code
    assert response.mimetype == "text/html"
    assert TITLES[code] in html
    # In the site's layout: its stylesheet and home link, not Werkzeug's bare page.
    assert "/static/css/app.css" in html
    assert 'href="/"' in html
    assert "Traceback" not in html
    assert "werkzeug" not in html.lower()


def assert_error_json(response, code: int) -> None:
    assert response.status_code == code
    assert response.is_json
    body = response.get_json()
    assert body["error"] == TITLES[code]
    assert body["message"]


@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 429, 500])
def test_every_error_has_a_page_and_a_json_body(app_with_errors, code):
    client = app_with_errors.test_client()
    assert_error_page(client.get(f"/abort/{code}"), code)
    assert_error_json(client.get(f"/abort/{code}", headers=JSON), code)


def test_not_found(client):
    assert_error_page(client.get("/no-such-page"), 404)
    assert_error_json(client.get("/no-such-page", headers=JSON), 404)


def test_an_id_too_large_for_the_database_is_not_found(client, app_context, make_user):
    make_user()
    client.log_in()
    for number in ("99999999999999999999", "2147483648", "0"):
        action = f"/account/sessions/{number}/revoke"
        response = client.submit("/account/sessions", {}, action=action)
        assert response.status_code == 404, number


def test_browsers_get_html_even_when_they_accept_anything(client):
    headers = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert_error_page(client.get("/no-such-page", headers=headers), 404)
    assert_error_page(client.get("/no-such-page", headers={"Accept": "*/*"}), 404)


def test_method_not_allowed_says_what_is(client):
    response = client.get("/auth/logout")
    assert_error_page(response, 405)
    assert {method.strip() for method in response.headers["Allow"].split(",")} == {
        "OPTIONS",
        "POST",
    }
    assert_error_json(client.get("/auth/logout", headers=JSON), 405)


def test_bad_request(client):
    assert_error_page(client.post("/auth/login", data={}), 400)
    assert_error_json(client.post("/auth/login", data={}, headers=JSON), 400)


def test_too_large(app, client):
    body = {"email": "x" * app.config["MAX_CONTENT_LENGTH"]}
    assert_error_page(client.post("/auth/login", data=body), 413)
    assert_error_json(client.post("/auth/login", data=body, headers=JSON), 413)


def test_too_many_requests(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "1/minute")
    client.submit("/auth/signup", {})
    response = client.submit("/auth/signup", {})
    assert_error_page(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert_error_json(client.submit("/auth/signup", {}, headers=JSON), 429)


def test_an_exception_in_production_shows_the_500_page_only(make_app, caplog):
    new_app = make_app("production")

    @new_app.route("/boom")
    def boom():
        raise RuntimeError("database password is hunter2")

    client = new_app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/boom", base_url=PRODUCTION_URL)
    assert_error_page(response, 500)
    html = response.get_data(as_text=True)
    assert "hunter2" not in html
    assert "RuntimeError" not in html
    assert "boom" not in html
    # The details go to the log, for the site's team.
    assert "RuntimeError: database password is hunter2" in caplog.text

    json_reply = client.get("/boom", base_url=PRODUCTION_URL, headers=JSON)
    assert_error_json(json_reply, 500)
    assert "hunter2" not in json_reply.get_data(as_text=True)


def test_error_pages_carry_the_security_headers(app_with_errors):
    client = app_with_errors.test_client()
    for code in (400, 403, 404, 405, 413, 429, 500):
        response = client.get(f"/abort/{code}")
        assert response.headers["X-Frame-Options"] == "DENY", code
        assert "default-src 'self'" in response.headers["Content-Security-Policy"], code
