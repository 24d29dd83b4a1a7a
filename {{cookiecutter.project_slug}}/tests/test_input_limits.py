"""Bounded input (ASVS 2.2, 4.1): repeated or oversized fields get a form error, never a 500."""

import pytest
from helpers import PASSWORD
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import User

ONCE = "Send this field only once."
NEW_PASSWORD = "a brand new passphrase"
INVALID = 'aria-invalid="true"'
HUGE = "a" * 60_000  # under MAX_CONTENT_LENGTH, far over any field's limit


def post_form(client, page: str, fields: list[tuple[str, str]], action: str | None = None):
    """POST `fields` as given (names may repeat), with the page's CSRF token."""
    data = MultiDict([("csrf_token", client.csrf_token(page)), *fields])
    return client.post(action or page, data=data)


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def test_login_refuses_a_repeated_field(client, app_context, make_user):
    make_user()
    for fields in (
        [("email", "user@example.com"), ("email", "other@example.com"), ("password", PASSWORD)],
        [("email", "user@example.com"), ("password", PASSWORD), ("password", "guess two")],
    ):
        response = post_form(client, "/auth/login", fields)
        assert response.status_code == 200
        assert ONCE in response.get_data(as_text=True)
        assert client.get("/dashboard").status_code == 302


def test_a_repeated_csrf_token_is_refused(client, app_context, make_user):
    make_user()
    token = client.csrf_token("/auth/login")
    data = MultiDict(
        [
            ("csrf_token", token),
            ("csrf_token", token),
            ("email", "user@example.com"),
            ("password", PASSWORD),
        ]
    )
    response = client.post("/auth/login", data=data)
    assert response.status_code == 200
    assert client.get("/dashboard").status_code == 302


def test_signup_refuses_a_repeated_field(client, app_context, outbox):
    fields = [
        ("email", "fresh@example.com"),
        ("email", "second@example.com"),
        ("password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ]
    response = post_form(client, "/auth/signup", fields)
    assert response.status_code == 200
    assert ONCE in response.get_data(as_text=True)
    assert user_count() == 0
    assert outbox == []
    # Control: the same form with each field once goes through.
    assert post_form(client, "/auth/signup", fields[:1] + fields[2:]).status_code == 302
    assert user_count() == 1


def test_forgot_password_refuses_two_addresses(client, app_context, outbox, make_user):
    """A second address must never receive someone else's reset link."""
    make_user()
    fields = [("email", "user@example.com"), ("email", "attacker@example.com")]
    response = post_form(client, "/auth/forgot-password", fields)
    assert response.status_code == 200
    assert ONCE in response.get_data(as_text=True)
    assert outbox == []


def test_password_change_refuses_a_repeated_field(client, app_context, outbox, make_user):
    make_user()
    client.log_in()
    fields = [
        ("current_password", PASSWORD),
        ("password", NEW_PASSWORD),
        ("password", "another new passphrase"),
        ("confirm_password", NEW_PASSWORD),
    ]
    response = post_form(client, "/account/password", fields)
    assert response.status_code == 200
    assert ONCE in response.get_data(as_text=True)
    assert outbox == []


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ("/auth/login", "email"),
        ("/auth/login", "password"),
        ("/auth/signup", "email"),
        ("/auth/signup", "password"),
        ("/auth/signup", "confirm_password"),
        ("/auth/forgot-password", "email"),
    ],
)
def test_a_huge_field_gets_a_form_error(client, app_context, outbox, page, field):
    data = {
        "email": "fresh@example.com",
        "password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
        field: HUGE,
    }
    response = client.submit(page, data)
    assert response.status_code == 200
    assert INVALID in response.get_data(as_text=True)
    assert user_count() == 0
    assert outbox == []


def test_a_huge_password_on_the_account_page_gets_a_form_error(
    client, app_context, outbox, make_user
):
    make_user()
    client.log_in()
    for field in ("current_password", "password"):
        data = {
            "current_password": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            field: HUGE,
        }
        response = client.submit("/account/password", data)
        assert response.status_code == 200, field
        assert INVALID in response.get_data(as_text=True), field
    assert outbox == []


def test_a_body_over_the_limit_gets_413(app, client):
    body = {"email": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    assert client.post("/auth/login", data=body).status_code == 413
    # Also when the client does not announce the size up front.
    response = client.post(
        "/auth/login",
        data=b"email=" + b"x" * app.config["MAX_CONTENT_LENGTH"],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


def test_strange_bytes_get_a_form_error(client, app_context, make_user):
    make_user()
    token = client.csrf_token("/auth/login")
    for raw in (b"%FF%FE%00", b"user%00@example.com", b"user@example.com%0D%0Abcc:x@y.z"):
        response = client.post(
            "/auth/login",
            data=b"csrf_token=" + token.encode() + b"&email=" + raw + b"&password=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, raw
        assert client.get("/dashboard").status_code == 302


def test_a_long_query_string_is_harmless(client):
    assert client.get("/auth/login?next=/" + "a" * 3000).status_code == 200
    assert client.get("/auth/login?next=/&next=//evil.example").status_code == 200
{%- if cookiecutter.use_otp %}


def test_verify_refuses_a_huge_or_repeated_code(client, app_context, outbox):
    data = {"email": "fresh@example.com", "password": NEW_PASSWORD}
    client.submit("/auth/signup", {**data, "confirm_password": NEW_PASSWORD})
    response = client.submit("/auth/verify", {"code": "1" * 60_000})
    assert response.status_code == 200
    assert "Enter the 6 digits" in response.get_data(as_text=True)
    response = post_form(client, "/auth/verify", [("code", "123456"), ("code", "654321")])
    assert response.status_code == 200
    assert ONCE in response.get_data(as_text=True)
{%- endif %}
