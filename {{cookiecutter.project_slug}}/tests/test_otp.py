import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import OneTimeCode

from conftest import PASSWORD, code_from, create_user, find_user, log_in, submit


def sign_up(client, email="new@example.com"):
    data = {"email": email, "password": PASSWORD, "confirm_password": PASSWORD}
    return submit(client, "/auth/signup", data)


def enter(client, code):
    return submit(client, "/auth/verify", {"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def resend(client):
    return submit(client, "/auth/verify", {}, action="/auth/verify/resend")


def test_signup_sends_a_six_digit_code_stored_only_as_a_hash(client, app_context, outbox):
    sign_up(client)
    assert len(outbox) == 1
    code = code_from(outbox[0])
    assert len(code) == 6
    assert outbox[0].html and code in outbox[0].html
    stored = db.session.scalars(select(OneTimeCode)).one()
    assert code not in stored.code_hash
    assert stored.expires_at - stored.created_at == timedelta(minutes=10)


def test_the_right_code_verifies_and_signs_in(client, app_context, outbox):
    sign_up(client)
    response = enter(client, code_from(outbox[0]))
    assert response.headers["Location"] == "/dashboard"
    assert find_user("new@example.com").is_verified
    assert client.get("/dashboard").status_code == 200


def test_a_code_works_once(app, app_context, outbox):
    client = app.test_client()
    sign_up(client)
    code = code_from(outbox[0])
    enter(client, code)
    assert db.session.scalars(select(OneTimeCode)).all() == []


def test_unverified_account_is_sent_to_the_verify_page(client, app_context, outbox):
    sign_up(client)
    assert client.get("/dashboard").status_code == 302
    response = log_in(client, "new@example.com")
    assert response.headers["Location"] == "/auth/verify"
    assert client.get("/dashboard").headers["Location"].startswith("/auth/login")


def test_wrong_code_is_refused(client, app_context, outbox):
    sign_up(client)
    response = enter(client, wrong(code_from(outbox[0])))
    assert response.status_code == 200
    assert b"not correct" in response.data
    assert not find_user("new@example.com").is_verified


def test_expired_code_is_refused(client, app_context, outbox):
    sign_up(client)
    stored = db.session.scalars(select(OneTimeCode)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = enter(client, code_from(outbox[0]))
    assert b"expired" in response.data
    assert not find_user("new@example.com").is_verified


def test_a_new_code_voids_the_old_one(client, app, app_context, outbox, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    sign_up(client)
    first = code_from(outbox[0])
    resend(client)
    assert len(outbox) == 2
    second = code_from(outbox[1])
    if first != second:
        assert b"not correct" in enter(client, first).data
    assert enter(client, second).headers["Location"] == "/dashboard"


def test_five_wrong_codes_lock_verification_even_across_resends(
    client, app, app_context, outbox, monkeypatch
):
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    sign_up(client)
    for attempt in range(5):
        if attempt == 3:
            resend(client)  # must not reset the count
        response = enter(client, wrong(code_from(outbox[-1])))
    assert b"Too many wrong codes" in response.data
    # Even the right code is refused during the wait.
    assert b"Too many wrong codes" in enter(client, code_from(outbox[-1])).data
    assert not find_user("new@example.com").is_verified


def test_resend_has_a_server_enforced_cooldown(client, app_context, outbox):
    sign_up(client)
    page = client.get("/auth/verify").get_data(as_text=True)
    assert 55 <= int(re.search(r'data-resend-wait="(\d+)"', page).group(1)) <= 60
    response = resend(client)
    assert response.status_code == 302
    assert len(outbox) == 1
    assert b"Please wait" in client.get("/auth/verify").data


def test_resend_after_the_cooldown_sends_a_new_code(client, app, app_context, outbox, monkeypatch):
    sign_up(client)
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    resend(client)
    assert len(outbox) == 2


def test_taken_address_gets_the_same_verify_page(app, app_context, outbox):
    create_user("taken@example.com")
    client = app.test_client()
    assert sign_up(client, "taken@example.com").headers["Location"] == "/auth/verify"
    page = client.get("/auth/verify")
    assert page.status_code == 200
    assert b"taken@example.com" in page.data
    # No code exists for a verified account, so every guess fails like a wrong code.
    assert b"not correct" in enter(client, "123456").data


@pytest.mark.parametrize("code", ["12345", "abcdef", "1234567", ""])
def test_malformed_codes_get_a_form_error(client, app_context, outbox, code):
    sign_up(client)
    response = enter(client, code)
    assert response.status_code == 200
    assert not find_user("new@example.com").is_verified
