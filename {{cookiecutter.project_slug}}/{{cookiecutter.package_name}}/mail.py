"""Sending e-mail: plain-text and HTML parts from templates, off the request thread.

Development without MAIL_SERVER prints every message's text to the log instead, so a new
project works with no SMTP server. Tests capture messages with mail.record_messages().
"""

import logging
import smtplib
from concurrent.futures import ThreadPoolExecutor
from email.headerregistry import Address
from email.utils import parseaddr

import flask_mail
from flask import Flask, current_app, render_template, request, url_for
from flask_mail import Connection

logger = logging.getLogger(__name__)

# A small pool: requests never wait on SMTP. Messages still queued when the process
# stops are lost; a job queue is the upgrade path when that matters.
_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mail")


class Message(flask_mail.Message):
    """Flask-Mail's message with its From header written by the standard library.

    Flask-Mail 0.10 encodes the sender's name itself (email.header.Header), which garbles
    a long non-ASCII name ("Tom's" came out as "T om's"); the message's own policy encodes
    and folds an Address right.
    """

    def _message(self):
        message = super()._message()
        name, address = parseaddr(self.sender)
        message.replace_header("From", Address(name, addr_spec=address))
        return message


def send_email(to: str, subject: str, template: str, **context) -> None:
    app = current_app._get_current_object()
    context.setdefault("project_name", app.config["PROJECT_NAME"])
    message = Message(
        subject=f"{subject} - {app.config['PROJECT_NAME']}",
        recipients=[to],
        body=render_template(f"email/{template}.txt", **context),
        html=render_template(f"email/{template}.html", **context),
    )
    if app.config["MAIL_BACKEND"] == "console":
        logger.info("%s", readable(message))
    elif app.config["MAIL_SEND_ASYNC"]:
        _executor.submit(deliver, app, message)
    else:
        deliver(app, message)


def readable(message: Message) -> str:
    """The e-mail as a person wants to read it in the terminal: the text part as written,
    where the MIME source would show it base64 or quoted-printable encoded."""
    return (
        "E-mail (not sent: no MAIL_SERVER configured)\n"
        f"To: {', '.join(message.recipients)}\n"
        f"Subject: {message.subject}\n\n"
        f"{message.body}\n"
        "(+ HTML part)"
    )


def deliver(app: Flask, message: Message) -> None:
    with app.app_context():
        try:
            mail_state = app.extensions["mail"]
            with TimeoutConnection(mail_state, app.config["MAIL_TIMEOUT"]) as connection:
                connection.send(message)
        except (OSError, smtplib.SMTPException) as error:
            logger.error("E-mail %r to %s failed: %s", message.subject, message.recipients, error)


class TimeoutConnection(Connection):
    """Flask-Mail's connection with a socket timeout, so a dead server cannot hang a worker."""

    def __init__(self, mail_state, timeout: float) -> None:
        super().__init__(mail_state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=self.timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def absolute_url(endpoint: str, **values) -> str:
    """A link for an e-mail: BASE_URL, then the endpoint's path.

    Production requires BASE_URL and testing sets it, so there no link comes from the
    request's Host header. Development may leave it unset: links then follow the address
    the browser used, on whatever port `flask run` serves.
    """
    base_url = current_app.config["BASE_URL"] or request.host_url.rstrip("/")
    return base_url + url_for(endpoint, **values)


def run_in_background(function, *args) -> None:
    """Call function(*args) off the request thread (inline when MAIL_SEND_ASYNC is off, as
    in tests), for work whose duration must not show in the answer, such as looking up an
    account before mailing it. It runs in a request context with this request's site URL
    and client address, so it builds links and logs events as the request would."""
    app = current_app._get_current_object()
    if app.config["MAIL_SEND_ASYNC"]:
        context = {
            "base_url": request.root_url,
            "environ_base": {"REMOTE_ADDR": request.remote_addr},
        }
        _executor.submit(_run_in_context, app, context, function, *args)
    else:
        function(*args)


def _run_in_context(app: Flask, context: dict, function, *args) -> None:
    with app.test_request_context(**context):
        try:
            function(*args)
        except Exception:
            logger.exception("Background task %s failed", function.__name__)
