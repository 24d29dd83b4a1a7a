from datetime import timedelta

from sqlalchemy import select

from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import UserSession


def only_session() -> UserSession:
    return db.session.scalars(select(UserSession)).one()


def age(user_session: UserSession, **delta) -> None:
    user_session.created_at -= timedelta(**delta)
    user_session.last_seen_at -= timedelta(**delta)
{%- if cookiecutter.use_admin %}
    user_session.authenticated_at -= timedelta(**delta)
{%- endif %}
    db.session.commit()


def cookies(client) -> dict:
    return {cookie.key: cookie.value for cookie in client._cookies.values()}


def test_login_records_a_session(client, app_context, make_user):
    make_user()
    client.log_in(headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
    recorded = only_session()
    assert recorded.ip_address == "127.0.0.1"
    assert "Firefox" in recorded.user_agent
    assert len(recorded.token_hash) == 64


def test_a_cookie_captured_before_logout_is_worthless_after_it(app, client, app_context, make_user):
    make_user()
    client.log_in(remember=True)
    captured = cookies(client)
    client.submit("/dashboard", {}, action="/auth/logout")

    replay = app.test_client()
    for name, value in captured.items():
        replay.set_cookie(name, value)
    assert replay.get("/dashboard").status_code == 302
    assert db.session.scalars(select(UserSession)).all() == []


def test_logout_clears_the_remember_cookie(client, app_context, make_user):
    make_user()
    client.log_in(remember=True)
    assert "remember_token" in cookies(client)
    client.submit("/dashboard", {}, action="/auth/logout")
    assert "remember_token" not in cookies(client)


def test_idle_session_expires(client, app, app_context, make_user):
    make_user()
    client.log_in()
    age(only_session(), seconds=app.config["SESSION_IDLE_TIMEOUT"].total_seconds() + 1)
    assert client.get("/dashboard").status_code == 302


def test_remembered_session_survives_idleness_but_not_its_lifetime(
    client, app, app_context, make_user
):
    make_user()
    client.log_in(remember=True)
    age(only_session(), seconds=app.config["SESSION_IDLE_TIMEOUT"].total_seconds() + 1)
    assert client.get("/dashboard").status_code == 200
    age(only_session(), seconds=app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds())
    assert client.get("/dashboard").status_code == 302


def test_remember_cookie_never_outlives_the_absolute_lifetime(app):
    assert app.config["REMEMBER_COOKIE_DURATION"] <= app.config["SESSION_ABSOLUTE_LIFETIME"]
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_last_seen_is_written_at_most_once_a_minute(client, app_context, make_user):
    make_user()
    client.log_in()
    recorded = only_session()
    recorded.last_seen_at = first = utcnow() - timedelta(seconds=30)
    db.session.commit()
    client.get("/dashboard")
    db.session.refresh(recorded)
    assert recorded.last_seen_at == first
    recorded.last_seen_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    client.get("/dashboard")
    db.session.refresh(recorded)
    assert utcnow() - recorded.last_seen_at < timedelta(seconds=5)


def test_deactivation_ends_sessions_at_once(client, app_context, make_user):
    user = make_user()
    client.log_in()
    user.is_active = False
    db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_sessions_page_lists_and_revokes(app, client, app_context, make_user):
    make_user()
    phone = app.test_client()
    phone.log_in(headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"})
    client.log_in(headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"})
    page = client.get("/account/sessions")
    assert page.status_code == 200
    assert b"Safari on iOS" in page.data
    assert b"Firefox on Linux" in page.data

    phone_session = db.session.scalar(
        select(UserSession).where(UserSession.user_agent.contains("iPhone"))
    )
    response = client.submit(
        "/account/sessions", {}, action=f"/account/sessions/{phone_session.id}/revoke"
    )
    assert response.headers["Location"] == "/account/sessions"
    assert phone.get("/dashboard").status_code == 302
    assert client.get("/dashboard").status_code == 200


def test_revoke_all_other_sessions(app, client, app_context, make_user):
    make_user()
    others = [app.test_client() for _ in range(2)]
    for other in others:
        other.log_in()
    client.log_in()
    client.submit("/account/sessions", {}, action="/account/sessions/revoke-others")
    assert [other.get("/dashboard").status_code for other in others] == [302, 302]
    assert client.get("/dashboard").status_code == 200


def test_cannot_revoke_someone_elses_session(app, client, app_context, make_user):
    make_user("a@example.com")
    make_user("b@example.com")
    other = app.test_client()
    other.log_in("b@example.com")
    theirs = only_session()
    client.log_in("a@example.com")
    response = client.submit(
        "/account/sessions", {}, action=f"/account/sessions/{theirs.id}/revoke"
    )
    assert response.status_code == 404
    assert other.get("/dashboard").status_code == 200
