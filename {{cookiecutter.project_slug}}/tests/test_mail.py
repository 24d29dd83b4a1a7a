"""E-mail through a real SMTP server (aiosmtpd on loopback), as in production."""

import email
import logging
import socket

import pytest
from aiosmtpd.controller import Controller

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.mail import send_email

{% if cookiecutter.use_otp -%}
from conftest import PASSWORD, create_user, submit
{%- else -%}
from conftest import create_user, submit
{%- endif %}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body_parts(message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_maintype() == "text"
    }


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def app_sending_to(monkeypatch, port: int):
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(port))
    app = create_app("testing")
    with app.app_context():
        db.create_all()
    return app
{%- if cookiecutter.use_otp %}


def test_verification_code_arrives_over_smtp(monkeypatch, smtp_server):
    controller, inbox = smtp_server
    app = app_sending_to(monkeypatch, controller.port)
    client = app.test_client()
    data = {"email": "smtp@example.com", "password": PASSWORD, "confirm_password": PASSWORD}
    with app.app_context():
        submit(client, "/auth/signup", data)

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "smtp@example.com"
    parts = body_parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    code = next(word for word in parts["text/plain"].split() if word.isdigit() and len(word) == 6)
    assert code in parts["text/html"]
    with app.app_context():
        response = submit(client, "/auth/verify", {"code": code})
    assert response.headers["Location"] == "/dashboard"
{%- else %}


def test_reset_link_arrives_over_smtp(monkeypatch, smtp_server):
    controller, inbox = smtp_server
    app = app_sending_to(monkeypatch, controller.port)
    client = app.test_client()
    with app.app_context():
        create_user("smtp@example.com")
        submit(client, "/auth/forgot-password", {"email": "smtp@example.com"})

    assert len(inbox.messages) == 1
    parts = body_parts(inbox.messages[0])
    assert set(parts) == {"text/plain", "text/html"}
    assert "/auth/reset-password/" in parts["text/plain"]
{%- endif %}


def test_an_unreachable_server_is_logged_not_shown(monkeypatch, caplog):
    app = app_sending_to(monkeypatch, free_port())  # nothing listens there
    client = app.test_client()
    with app.app_context(), caplog.at_level(logging.ERROR):
        create_user("down@example.com")
        response = submit(client, "/auth/forgot-password", {"email": "down@example.com"})
    assert response.status_code == 302
    assert "failed" in caplog.text
    assert "down@example.com" in caplog.text


def test_development_without_mail_server_prints_the_message(monkeypatch, caplog):
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    monkeypatch.setenv("SECRET_KEY", "a-development-secret-key-for-this-test-only")
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app("development")
    assert app.config["MAIL_BACKEND"] == "console"
    with app.test_request_context(), caplog.at_level(logging.INFO):
        send_email("dev@example.com", "Hello", "password_changed")
    assert "To: dev@example.com" in caplog.text
    assert "Content-Type: text/html" in caplog.text
