"""E-mail through a real SMTP server (aiosmtpd on loopback), as in production."""

import email
import logging
import secrets
import socket
from email.header import decode_header, make_header
from email.utils import parseaddr

import pytest
from aiosmtpd.controller import Controller
from flask import render_template
from helpers import {% if cookiecutter.use_otp %}PASSWORD, {% endif %}IsolatedClient

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import NO_REPLY_ADDRESS, Config
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.mail import absolute_url, send_email


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.envelope_senders: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        self.envelope_senders.append(envelope.mail_from)
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sender_of(message) -> tuple[str, str]:
    """The From header as a mail client shows it: name (RFC 2047 words decoded), address."""
    name, address = parseaddr(message["From"])
    return str(make_header(decode_header(name))), address


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


def app_sending_to(port: int):
    app = create_app("testing", {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port})
    app.test_client_class = IsolatedClient
    with app.app_context():
        db.create_all()
    return app
{%- if cookiecutter.use_otp %}


def test_verification_code_arrives_over_smtp(smtp_server):
    controller, inbox = smtp_server
    app = app_sending_to(controller.port)
    client = app.test_client()
    data = {"email": "smtp@example.com", "password": PASSWORD, "confirm_password": PASSWORD}
    with app.app_context():
        client.submit("/auth/signup", data)

    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "smtp@example.com"
    parts = body_parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    code = next(word for word in parts["text/plain"].split() if word.isdigit() and len(word) == 6)
    assert code in parts["text/html"]
    with app.app_context():
        response = client.submit("/auth/verify", {"code": code})
    assert response.headers["Location"] == "/dashboard"
{%- else %}


def test_reset_link_arrives_over_smtp(smtp_server, make_user):
    controller, inbox = smtp_server
    app = app_sending_to(controller.port)
    client = app.test_client()
    with app.app_context():
        make_user("smtp@example.com")
        client.submit("/auth/forgot-password", {"email": "smtp@example.com"})

    assert len(inbox.messages) == 1
    parts = body_parts(inbox.messages[0])
    assert set(parts) == {"text/plain", "text/html"}
    assert "/auth/reset-password/" in parts["text/plain"]
{%- endif %}


@pytest.mark.parametrize(
    "project_name",
    [
        None,  # the project's own name
        "Smith, Jones & Co",
        "Acme: Tools & Parts",
        "Dr. Who (Ltd.); Time & Space",
        "Tom's Café",
        # Long enough to be encoded in several pieces.
        "Bäckerei Groß & Söhne: Ölmühle, Café, Tom's Kuchen",
    ],
)
def test_the_sender_is_the_project_name_at_the_no_reply_address(
    monkeypatch, smtp_server, project_name
):
    if project_name:
        monkeypatch.setattr(Config, "PROJECT_NAME", project_name)
    controller, inbox = smtp_server
    app = app_sending_to(controller.port)
    with app.test_request_context():
        send_email("someone@example.com", "Hello", "password_changed")

    [message] = inbox.messages
    assert sender_of(message) == (app.config["PROJECT_NAME"], NO_REPLY_ADDRESS)
    assert inbox.envelope_senders == [NO_REPLY_ADDRESS]


def test_an_unreachable_server_is_logged_not_shown(caplog, make_user):
    app = app_sending_to(free_port())  # nothing listens there
    client = app.test_client()
    with app.app_context(), caplog.at_level(logging.ERROR):
        make_user("down@example.com")
        response = client.submit("/auth/forgot-password", {"email": "down@example.com"})
    assert response.status_code == 302
    assert "failed" in caplog.text
    assert "down@example.com" in caplog.text


def development_app(make_app, monkeypatch, tmp_path):
    """A new project's development app: no MAIL_SERVER, no BASE_URL."""
    monkeypatch.chdir(tmp_path)  # no .env to be found
    app = make_app(
        "development", schema=True, SECRET_KEY=secrets.token_urlsafe(48), DATABASE_URL="sqlite://"
    )
    # Whatever runs before an e-mail runs in the request, so the log holds it on return.
    app.config["MAIL_SEND_ASYNC"] = False
    return app


def test_development_without_mail_server_prints_the_text_part(
    make_app, monkeypatch, tmp_path, caplog
):
    app = development_app(make_app, monkeypatch, tmp_path)
    assert app.config["MAIL_BACKEND"] == "console"
    name = app.config["PROJECT_NAME"]
    with app.test_request_context(), caplog.at_level(logging.INFO):
        send_email("dev@example.com", "Hello", "password_changed")
        text = render_template("email/password_changed.txt", project_name=name)
    printed = caplog.records[-1].getMessage()
    assert printed.startswith(
        "E-mail (not sent: no MAIL_SERVER configured)\nTo: dev@example.com\n"
        f"Subject: Hello - {name}\n\n{text}\n"
    )
    # The HTML part is only mentioned, and no MIME source hides the text.
    assert printed.endswith("\n(+ HTML part)")
    assert "<html" not in printed
    assert "Content-Type" not in printed


def test_development_links_follow_the_port_the_server_runs_on(
    make_app, monkeypatch, tmp_path, caplog, make_user
):
    app = development_app(make_app, monkeypatch, tmp_path)
    with app.app_context():
        make_user("dev@example.com")
    client = app.test_client()
    site = "http://127.0.0.1:5123"  # `flask run --port 5123`
    token = client.csrf_token("/auth/forgot-password", base_url=site)
    data = {"csrf_token": token, "email": "dev@example.com"}
    with caplog.at_level(logging.INFO):
        client.post("/auth/forgot-password", data=data, base_url=site)
    assert f"{site}/auth/reset-password/" in caplog.text


@pytest.mark.parametrize("config_name", ["production", "testing"])
def test_links_come_from_base_url_whatever_the_host(make_app, config_name):
    app = make_app(config_name)
    # 127.0.0.1 is among the hosts production answers to (its health check).
    with app.test_request_context("/", base_url="http://127.0.0.1:5123"):
        assert absolute_url("auth.login") == app.config["BASE_URL"] + "/auth/login"
