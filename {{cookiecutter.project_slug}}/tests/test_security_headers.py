"""Response headers (ASVS 3.4): on every kind of response, strict CSP, caching, HSTS."""

import re

import pytest
from extra_apps import PRODUCTION_URL
from sqlalchemy import select

from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import UserSession

EXPECTED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
ONE_YEAR = 365 * 24 * 60 * 60


def parse_csp(value: str) -> dict[str, list[str]]:
    directives = {}
    for directive in value.split(";"):
        name, *sources = directive.split()
        assert name not in directives, f"{name} given twice"
        directives[name] = sources
    return directives


def hsts_max_age(value: str) -> int:
    match = re.search(r"(?:^|;)\s*max-age=(\d+)", value)
    assert match, value
    return int(match.group(1))


def every_kind_of_response(client) -> dict:
    return {
        "html page": client.get("/"),
        "auth form": client.get("/auth/login"),
        "json": client.get("/healthz"),
        "html error page": client.get("/no-such-page"),
        "json error": client.get("/no-such-page", headers={"Accept": "application/json"}),
        "method not allowed": client.get("/auth/logout"),
        "redirect": client.get("/dashboard"),
        "form post redirect": client.submit("/auth/login", {}, action="/auth/logout"),
        "csrf failure": client.post("/auth/login", data={}),
        "static file": client.get("/static/favicon.svg"),
    }


def test_every_kind_of_response_has_the_headers(client):
    responses = every_kind_of_response(client)
    expected_status = {
        "html page": 200,
        "auth form": 200,
        "json": 200,
        "html error page": 404,
        "json error": 404,
        "method not allowed": 405,
        "redirect": 302,
        "form post redirect": 302,
        "csrf failure": 400,
        "static file": 200,
    }
    for kind, response in responses.items():
        assert response.status_code == expected_status[kind], kind
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, f"{kind}: {name}"
        assert parse_csp(response.headers["Content-Security-Policy"]) == EXPECTED_CSP, kind
        permissions = response.headers["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()"):
            assert feature in permissions, kind
        # Not in testing: HSTS belongs to production only.
        assert "Strict-Transport-Security" not in response.headers, kind


def test_signed_in_pages_have_the_headers(client, app_context, make_user):
    make_user()
    client.log_in()
    for page in ("/", "/dashboard", "/account/password", "/account/sessions", "/nope"):
        response = client.get(page)
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, f"{page}: {name}"
        assert parse_csp(response.headers["Content-Security-Policy"]) == EXPECTED_CSP


def test_csp_allows_no_inline_code_and_no_other_origin(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "unsafe-hashes" not in csp
    assert "strict-dynamic" not in csp
    for sources in parse_csp(csp).values():
        for source in sources:
            assert source in {"'self'", "'none'", "data:"}, f"unexpected source {source}"


def test_pages_carry_no_inline_script_or_style(client, app_context, outbox, make_user):
    """What the CSP forbids must not be in the pages (else they would break)."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    forbidden = [
        re.compile(r"<style\b", re.IGNORECASE),
        re.compile(r"\sstyle\s*=", re.IGNORECASE),
        re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
        re.compile(r"javascript:", re.IGNORECASE),
        inline_script,
    ]
    pages = ["/", "/auth/login", "/auth/signup", "/auth/forgot-password", "/nope"]
    make_user()
    client.log_in()
    pages += ["/dashboard", "/account/password", "/account/sessions"]
    for page in pages:
        html = client.get(page).get_data(as_text=True)
        for pattern in forbidden:
            assert not pattern.search(html), f"{page}: {pattern.pattern}"


def test_reset_page_keeps_its_token_out_of_other_sites_referer(
    client, app_context, outbox, make_user
):
    make_user()
    client.submit("/auth/forgot-password", {"email": "user@example.com"})
    path = re.search(r"/auth/reset-password/[\w-]+", outbox[0].body).group(0)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Referrer-Policy"] == "same-origin"
    # Anywhere else the default applies.
    assert client.get("/auth/login").headers["Referrer-Policy"] == (
        "strict-origin-when-cross-origin"
    )


def test_hsts_of_at_least_a_year_in_production(make_app):
    client = make_app("production").test_client()
    for page in ("/", "/auth/login", "/no-such-page"):
        response = client.get(page, base_url=PRODUCTION_URL)
        value = response.headers["Strict-Transport-Security"]
        assert hsts_max_age(value) >= ONE_YEAR, page
        assert "includeSubDomains" in value


@pytest.mark.parametrize(
    "page",
    [
        "/auth/login",
        "/auth/signup",
        "/auth/forgot-password",
        "/auth/reset-password/not-a-valid-token",
    ],
)
def test_auth_forms_are_never_cached(client, page):
    assert "no-store" in client.get(page).headers["Cache-Control"]


def test_signed_in_pages_are_never_cached(client, app_context, make_user):
    make_user()
    client.log_in()
    for page in ("/", "/dashboard", "/account/password", "/account/sessions", "/nope"):
        assert "no-store" in client.get(page).headers["Cache-Control"], page


def test_public_pages_and_assets_may_be_cached(client):
    for page in ("/", "/static/favicon.svg"):
        assert "no-store" not in client.get(page).headers.get("Cache-Control", ""), page
{%- if cookiecutter.use_otp %}


def test_verify_page_is_never_cached(client, app_context):
    data = {"email": "new@example.com", "password": "a long passphrase"}
    client.submit("/auth/signup", {**data, "confirm_password": data["password"]})
    response = client.get("/auth/verify")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
{%- endif %}


def test_logout_clears_site_data(client, app_context, make_user):
    make_user()
    client.log_in()
    response = client.submit("/dashboard", {}, action="/auth/logout")
    assert response.status_code == 302
    assert "no-store" in response.headers["Cache-Control"]
    cleared = {part.strip() for part in response.headers["Clear-Site-Data"].split(",")}
    assert {'"cache"', '"storage"'} <= cleared
    # Back after logout: the server answers with the login page, never the old content.
    assert client.get("/dashboard").status_code == 302


def test_ending_this_session_by_its_revoke_route_clears_site_data(client, app_context, make_user):
    make_user()
    client.log_in()
    this_session = db.session.scalar(select(UserSession.id))
    revoke = f"/account/sessions/{this_session}/revoke"
    response = client.submit("/account/sessions", {}, action=revoke)
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 302
    assert '"cache"' in response.headers["Clear-Site-Data"]


def test_other_responses_do_not_clear_site_data(client):
    assert "Clear-Site-Data" not in client.get("/").headers
