import re
from datetime import timedelta

from sqlalchemy import select

from {{ cookiecutter.package_name }}.database import utcnow
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.models import PasswordResetToken

from conftest import PASSWORD, create_user, log_in, submit

NEW_PASSWORD = "a brand new passphrase"
RESET_LINK = re.compile(r"(https?://\S+/auth/reset-password/[\w-]+)")


def ask_for_reset(client, email="user@example.com"):
    return submit(client, "/auth/forgot-password", {"email": email})


def reset_path(message) -> str:
    link = RESET_LINK.search(message.body).group(1)
    assert link in message.html
    return "/auth/" + link.split("/auth/", 1)[1]


def set_new_password(client, path, password=NEW_PASSWORD):
    return submit(client, path, {"password": password, "confirm_password": password})


def test_forgot_password_mails_a_link_built_from_base_url(app, client, app_context, outbox):
    create_user()
    response = ask_for_reset(client, "USER@example.com")
    assert response.status_code == 302
    assert len(outbox) == 1
    link = RESET_LINK.search(outbox[0].body).group(1)
    assert link.startswith(app.config["BASE_URL"] + "/auth/reset-password/")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 bits in URL-safe base64
    assert db.session.scalar(select(PasswordResetToken.token_hash)) != token


def test_link_ignores_a_forged_host_header(client, app_context, outbox):
    create_user()
    submit(
        client,
        "/auth/forgot-password",
        {"email": "user@example.com"},
        headers={"Host": "evil.test"},
    )
    assert "evil.test" not in outbox[0].body


def test_unknown_address_gets_the_same_answer(app, app_context, outbox):
    create_user()
    known = ask_for_reset(app.test_client(), "user@example.com")
    unknown = ask_for_reset(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert len(outbox) == 1


def test_reset_sets_the_password_without_signing_in(client, app_context, outbox):
    create_user()
    ask_for_reset(client)
    response = set_new_password(client, reset_path(outbox[0]))
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/dashboard").status_code == 302
    assert log_in(client, password=PASSWORD).status_code == 200
    assert log_in(client, password=NEW_PASSWORD).status_code == 302
    assert "password was changed" in outbox[-1].subject


def test_link_works_once(client, app_context, outbox):
    create_user()
    ask_for_reset(client)
    path = reset_path(outbox[0])
    set_new_password(client, path)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/forgot-password"


def test_link_expires(client, app_context, outbox):
    create_user()
    ask_for_reset(client)
    token = db.session.scalars(select(PasswordResetToken)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get(reset_path(outbox[0])).status_code == 302


def test_link_dies_when_the_password_changes_another_way(client, app_context, outbox):
    create_user()
    ask_for_reset(client)
    path = reset_path(outbox[0])
    log_in(client)
    submit(
        client,
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert client.get(path).status_code == 302


def test_reset_ends_every_session(app, client, app_context, outbox):
    create_user()
    other_device = app.test_client()
    log_in(other_device)
    ask_for_reset(client)
    set_new_password(client, reset_path(outbox[0]))
    assert other_device.get("/dashboard").status_code == 302


def test_new_password_must_meet_the_policy(client, app_context, outbox):
    create_user()
    ask_for_reset(client)
    response = set_new_password(client, reset_path(outbox[0]), "password1234")
    assert response.status_code == 200
    assert b"commonly used" in response.data


def test_reset_page_keeps_the_token_on_this_site(client, app_context, outbox):
    create_user()
    ask_for_reset(client)
    response = client.get(reset_path(outbox[0]))
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
