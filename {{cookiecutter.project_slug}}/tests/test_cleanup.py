"""`flask cleanup`: expired sessions, reset links{% if cookiecutter.use_otp %} and codes{% endif %} are deleted; live ones stay."""

import secrets
from datetime import timedelta

import pytest
{%- if cookiecutter.use_otp %}
from helpers import PASSWORD
{%- endif %}
from sqlalchemy import select{% if cookiecutter.use_otp %}, update{% endif %}

from {{ cookiecutter.package_name }}.cleanup import delete_expired
from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import PasswordResetToken, UserSession
{%- if cookiecutter.use_otp %}
from {{ cookiecutter.package_name }}.verification.models import OneTimeCode
{%- endif %}

SECOND = timedelta(seconds=1)


@pytest.fixture
def user(app_context, make_user):
    return make_user()


def add_session(user, created_at, last_seen_at=None, remember=False) -> UserSession:
    user_session = UserSession(
        user=user,
        token_hash=secrets.token_hex(32),
        remember=remember,
        created_at=created_at,
        last_seen_at=last_seen_at or created_at,
    )
    db.session.add(user_session)
    db.session.commit()
    return user_session


def add_reset_token(user, expires_at) -> PasswordResetToken:
    token = PasswordResetToken(
        user_id=user.id, token_hash=secrets.token_hex(32), expires_at=expires_at
    )
    db.session.add(token)
    db.session.commit()
    return token


def ids(model) -> set[int]:
    return set(db.session.scalars(select(model.id)))


def test_sessions_are_deleted_by_the_rule_that_signs_them_out(app, user):
    now = utcnow()
    lifetime = app.config["SESSION_ABSOLUTE_LIFETIME"]
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    expired = [
        add_session(user, now - lifetime - SECOND, now, remember=True),
        add_session(user, now - idle - SECOND),
    ]
    live = [
        add_session(user, now - lifetime + SECOND, now - lifetime + SECOND, remember=True),
        add_session(user, now - idle + SECOND),
        add_session(user, now - 2 * idle, now),
    ]
    # The same verdict as the check that signs a browser out.
    assert [row.expired(now) for row in expired + live] == [True] * 2 + [False] * 3

    assert delete_expired(now)["user_sessions"] == 2
    assert ids(UserSession) == {row.id for row in live}


def test_reset_links_are_deleted_when_they_expire(user):
    now = utcnow()
    add_reset_token(user, now)
    live = add_reset_token(user, now + SECOND)

    assert delete_expired(now)["password_reset_tokens"] == 1
    assert ids(PasswordResetToken) == {live.id}
{%- if cookiecutter.use_otp %}


def test_codes_are_deleted_when_they_expire(app, app_context):
    for email in ("first@example.com", "second@example.com"):
        data = {"email": email, "password": PASSWORD, "confirm_password": PASSWORD}
        assert app.test_client().submit("/auth/signup", data).status_code == 302
    first, second = sorted(ids(OneTimeCode))
    now = utcnow()
    set_code_expiry(first, now)
    set_code_expiry(second, now + SECOND)

    assert delete_expired(now)["one_time_codes"] == 1
    assert ids(OneTimeCode) == {second}


def set_code_expiry(code_id: int, expires_at) -> None:
    db.session.execute(
        update(OneTimeCode).where(OneTimeCode.id == code_id).values(expires_at=expires_at)
    )
    db.session.commit()
{%- endif %}


def test_the_command_deletes_what_has_expired_and_says_how_much(app, user):
    now = utcnow()
    add_session(user, now - app.config["SESSION_ABSOLUTE_LIFETIME"] - timedelta(hours=1))
    live_session = add_session(user, now)
    add_reset_token(user, now - timedelta(hours=1))
    live_token = add_reset_token(user, now + timedelta(hours=1))

    result = app.test_cli_runner().invoke(args=["cleanup"])

    assert result.exit_code == 0, result.output
    counts = "{% if cookiecutter.use_otp %}one_time_codes 0, {% endif %}password_reset_tokens 1, user_sessions 1"
    assert result.output == f"Deleted expired rows: {counts}.\n"
    assert ids(UserSession) == {live_session.id}
    assert ids(PasswordResetToken) == {live_token.id}


def test_appears_in_flask_help(app):
    assert "cleanup" in app.test_cli_runner().invoke(args=["--help"]).output
