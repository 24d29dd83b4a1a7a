"""CSRF (ASVS 3.5.1): every POST needs the form's token; a bad one changes nothing."""

import logging
import time
{%- if cookiecutter.use_otp %}
from datetime import timedelta
{%- endif %}

import pytest
from helpers import PASSWORD
from itsdangerous import TimestampSigner
from sqlalchemy import func, select

from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import User, UserSession
from {{ cookiecutter.package_name }}.passwords import verify_password

FRIENDLY = "This form has expired or did not come from this site"
NEW_PASSWORD = "a brand new passphrase"


def bad_tokens(client, page: str) -> dict[str, dict]:
    """The ways a token can be wrong, as form data for a POST."""
    other_browser_token = client.application.test_client().csrf_token("/auth/login")
    return {
        "missing": {},
        "empty": {"csrf_token": ""},
        "wrong": {"csrf_token": "not-a-token"},
        "another browser's": {"csrf_token": other_browser_token},
    }


def assert_friendly_400(response, kind: str = "") -> None:
    assert response.status_code == 400, kind
    html = response.get_data(as_text=True)
    assert FRIENDLY in html, kind
    assert "<html" in html
    assert "Traceback" not in html
    assert "CSRF" not in html  # the user-facing words, not the library's


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_login_without_a_valid_token_signs_nobody_in(client, app_context, caplog, make_user):
    make_user()
    credentials = {"email": "user@example.com", "password": PASSWORD}
    for kind, token in bad_tokens(client, "/auth/login").items():
        with caplog.at_level(logging.INFO):
            response = client.post("/auth/login", data={**credentials, **token})
        assert_friendly_400(response, kind)
        assert client.get("/dashboard").status_code == 302, kind
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0
    assert "login.success" not in caplog.text


def test_signup_without_a_valid_token_creates_nothing(client, app_context, outbox):
    data = {
        "email": "fresh@example.com",
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    for kind, token in bad_tokens(client, "/auth/signup").items():
        assert_friendly_400(client.post("/auth/signup", data={**data, **token}), kind)
    assert user_count() == 0
    assert outbox == []
    # The same form with its token goes through.
    assert client.submit("/auth/signup", data).status_code == 302
    assert user_count() == 1


def test_logout_without_a_valid_token_keeps_the_session(client, app_context, make_user):
    make_user()
    client.log_in()
    for kind, token in bad_tokens(client, "/dashboard").items():
        assert_friendly_400(client.post("/auth/logout", data=token), kind)
        assert client.get("/dashboard").status_code == 200, kind
    client.submit("/dashboard", {}, action="/auth/logout")
    assert client.get("/dashboard").status_code == 302


def test_password_change_without_a_valid_token_changes_nothing(
    client, app_context, outbox, make_user, find_user
):
    make_user()
    client.log_in()
    data = {
        "current_password": PASSWORD,
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    for kind, token in bad_tokens(client, "/account/password").items():
        assert_friendly_400(client.post("/account/password", data={**data, **token}), kind)
    db.session.expire_all()
    assert verify_password(PASSWORD, find_user("user@example.com").password_hash)
    assert outbox == []
    assert client.submit("/account/password", data).status_code == 302
    db.session.expire_all()
    assert verify_password(NEW_PASSWORD, find_user("user@example.com").password_hash)


def test_session_revocation_without_a_valid_token_revokes_nothing(
    app, client, app_context, make_user
):
    make_user()
    other_device = app.test_client()
    other_device.log_in()
    client.log_in()
    for kind, token in bad_tokens(client, "/account/sessions").items():
        response = client.post("/account/sessions/revoke-others", data=token)
        assert_friendly_400(response, kind)
    assert other_device.get("/dashboard").status_code == 200
    client.submit("/account/sessions", {}, action="/account/sessions/revoke-others")
    assert other_device.get("/dashboard").status_code == 302


def test_forgot_password_without_a_valid_token_sends_nothing(
    client, app_context, outbox, make_user
):
    make_user()
    for kind, token in bad_tokens(client, "/auth/forgot-password").items():
        response = client.post("/auth/forgot-password", data={"email": "user@example.com", **token})
        assert_friendly_400(response, kind)
    assert outbox == []
    client.submit("/auth/forgot-password", {"email": "user@example.com"})
    assert len(outbox) == 1
{%- if cookiecutter.use_otp %}


def test_resend_without_a_valid_token_sends_nothing(app, client, app_context, outbox, monkeypatch):
    data = {"email": "fresh@example.com", "password": NEW_PASSWORD}
    client.submit("/auth/signup", {**data, "confirm_password": NEW_PASSWORD})
    assert len(outbox) == 1
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    for kind, token in bad_tokens(client, "/auth/verify").items():
        assert_friendly_400(client.post("/auth/verify/resend", data=token), kind)
    assert len(outbox) == 1
    client.submit("/auth/verify", {}, action="/auth/verify/resend")
    assert len(outbox) == 2
{%- endif %}


def test_an_expired_token_is_refused(app, client, app_context, monkeypatch, make_user):
    make_user()
    token = client.csrf_token("/auth/login")
    lifetime = app.config["WTF_CSRF_TIME_LIMIT"] or 3600
    later = int(time.time()) + lifetime + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    response = client.post(
        "/auth/login",
        data={"csrf_token": token, "email": "user@example.com", "password": PASSWORD},
    )
    assert_friendly_400(response)
    assert client.get("/dashboard").status_code == 302


def test_a_token_from_before_login_is_stale_afterwards(client, app_context, make_user):
    """Signing in starts a fresh session, so a token handed out before it no longer works."""
    make_user()
    old_token = client.csrf_token("/auth/login")
    client.log_in()
    assert_friendly_400(client.post("/auth/logout", data={"csrf_token": old_token}))
    assert client.get("/dashboard").status_code == 200


def test_json_clients_get_a_json_400(client):
    response = client.post("/auth/login", data={}, headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.is_json
    assert FRIENDLY in response.get_json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/auth/logout",
        "/account/sessions/revoke-others",
        "/account/sessions/1/revoke",
{%- if cookiecutter.use_otp %}
        "/auth/verify/resend",
{%- endif %}
    ],
)
def test_state_changing_routes_refuse_get(client, app_context, path, make_user):
    make_user()
    client.log_in()
    response = client.get(path)
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert client.get("/dashboard").status_code == 200


def test_every_form_carries_a_token(client, app_context, make_user):
    pages = ["/auth/login", "/auth/signup", "/auth/forgot-password"]
    for page in pages:
        assert client.csrf_token(page), page
    make_user()
    client.log_in()
    for page in ["/dashboard", "/account/password", "/account/sessions"]:
        assert client.csrf_token(page), page
