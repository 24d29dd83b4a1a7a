import bcrypt
import pytest
from helpers import PASSWORD
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import User


def sign_up(client, email="new@example.com", password=PASSWORD, confirm=None, **extra):
    data = {"email": email, "password": password, "confirm_password": confirm or password}
    return client.submit("/auth/signup", {**data, **extra})


def test_signup_creates_an_account(client, app_context, find_user):
    response = sign_up(client, "New.Person@Example.COM")
    assert response.status_code == 302
    user = find_user("new.person@example.com")
    assert user is not None
    assert user.password_hash.startswith("$2b$")
    assert user.password_hash != PASSWORD
{%- if cookiecutter.use_otp %}
    assert response.headers["Location"] == "/auth/verify"
    assert not user.is_verified
{%- else %}
    assert response.headers["Location"] == "/auth/login"
    assert client.log_in("new.person@example.com").status_code == 302
    assert client.get("/dashboard").status_code == 200
{%- endif %}


@pytest.mark.parametrize(
    ("email", "password", "confirm", "message"),
    [
        ("not-an-email", PASSWORD, None, b"valid"),
        ("new@example.com", "short", None, b"at least 12 characters"),
        ("new@example.com", "password1234", None, b"commonly used"),
        ("new@example.com", PASSWORD, "something else entirely", b"do not match"),
        ("new@example.com", "x" * 73, None, b"72 bytes"),
    ],
)
def test_signup_refuses_bad_input_with_a_reason(
    client, app_context, email, password, confirm, message
):
    response = sign_up(client, email, password, confirm)
    assert response.status_code == 200
    assert message in response.data
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_fields_the_form_does_not_define_are_ignored(client, app_context, find_user):
    sign_up(
        client,
        is_active="false",
{%- if cookiecutter.use_admin %}
        is_admin="true",
{%- endif %}
{%- if cookiecutter.use_otp %}
        email_verified_at="2020-01-01",
{%- endif %}
    )
    user = find_user("new@example.com")
    assert user.is_active
{%- if cookiecutter.use_admin %}
    assert not user.is_admin
{%- endif %}
{%- if cookiecutter.use_otp %}
    assert not user.is_verified
{%- endif %}


def test_taken_address_answers_exactly_like_a_new_one(
    app, app_context, outbox, monkeypatch, make_user
):
    make_user("taken@example.com")
    hashes = []
    real_hashpw = bcrypt.hashpw
    monkeypatch.setattr(bcrypt, "hashpw", lambda *a: hashes.append(1) or real_hashpw(*a))

    fresh = sign_up(app.test_client(), "fresh@example.com")
    hashes_for_fresh = len(hashes)
    client = app.test_client()
    taken = sign_up(client, "TAKEN@example.com")

    # Same status, target and body, and the same bcrypt work (so the same time).
    assert hashes_for_fresh == len(hashes) - hashes_for_fresh == 1
    assert taken.status_code == fresh.status_code
    assert taken.headers["Location"] == fresh.headers["Location"]
    assert taken.get_data() == fresh.get_data()
    # The owner is told by e-mail instead; the stored password is unchanged.
    assert outbox[-1].recipients == ["taken@example.com"]
    assert "sign up" in outbox[-1].subject.lower()
    assert client.log_in("taken@example.com").status_code == 302


def test_email_uniqueness_is_case_insensitive_in_the_database(app_context, make_user):
    make_user("case@example.com")
    db.session.add(User(email="CASE@example.com", password_hash="x"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
