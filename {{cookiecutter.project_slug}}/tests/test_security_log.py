"""The security event log (ASVS 16.2, 16.3, 16.4): who, what, from where; no secrets."""

import json
import logging
import re

import pytest
from helpers import PASSWORD

from {{ cookiecutter.package_name }}.events import log_security_event

EVENTS_LOGGER = "{{ cookiecutter.package_name }}.events"
FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
NEW_PASSWORD = "a brand new passphrase"
WRONG = "my wrong guess 12345"


@pytest.fixture
def events(caplog):
    """The security events logged during the test, each as a dict of its fields."""
    caplog.set_level(logging.INFO, logger=EVENTS_LOGGER)

    def logged() -> list[dict]:
        records = [record for record in caplog.records if record.name == EVENTS_LOGGER]
        parsed = []
        for record in records:
            line = record.getMessage()
            assert "\n" not in line
            assert "\r" not in line
            parsed.append({key: json.loads(value) for key, value in FIELD.findall(line)})
        return parsed

    return logged


def named(events: list[dict], name: str) -> list[dict]:
    return [event for event in events if event["event"] == name]


def test_successful_login_is_logged_with_user_and_address(
    client, app_context, events, caplog, make_user
):
    user = make_user()
    client.submit(
        "/auth/login",
        {"email": "user@example.com", "password": PASSWORD},
        environ_overrides={"REMOTE_ADDR": "198.51.100.23"},
    )
    [event] = named(events(), "login.success")
    assert event["user_id"] == user.id
    assert event["ip"] == "198.51.100.23"
    assert PASSWORD not in caplog.text


def test_failed_login_is_logged_without_the_password(
    client, app_context, events, caplog, make_user
):
    user = make_user()
    client.log_in("user@example.com", WRONG)
    client.log_in("nobody@example.com", WRONG)
    known, unknown = named(events(), "login.failure")
    assert known["user_id"] == user.id
    assert known["email"] == "user@example.com"
    assert known["ip"] == "127.0.0.1"
    assert unknown["user_id"] is None
    assert unknown["email"] == "nobody@example.com"
    assert WRONG not in caplog.text


def test_throttling_is_logged(app, client, app_context, events, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ADDRESS", "1/minute")
    client.log_in("user@example.com", WRONG)
    assert client.log_in("user@example.com", WRONG).status_code == 429
    [event] = named(events(), "rate_limit.exceeded")
    assert event["endpoint"] == "auth.login"
    assert event["ip"] == "127.0.0.1"
    assert event["key"] == "127.0.0.1"
    assert event["limit"] == "1 per 1 minute"


def test_per_account_throttling_names_the_account(
    app, client, app_context, events, monkeypatch, make_user
):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ACCOUNT", "1/minute")
    make_user()
    client.log_in("user@example.com", WRONG)
    assert client.log_in("user@example.com", WRONG).status_code == 429
    [event] = named(events(), "rate_limit.exceeded")
    assert event["key"] == "user@example.com"


def test_forged_line_breaks_are_escaped(app, client, app_context, events, monkeypatch, caplog):
    """Input with CR/LF cannot add a line that looks like another event."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN_PER_ACCOUNT", "1/minute")
    forged = 'x@example.com\r\nevent="login.success" user_id=1 ip="10.0.0.1"'
    client.log_in(forged, WRONG)
    assert client.log_in(forged, WRONG).status_code == 429
    logged = events()  # asserts that no event line holds a CR or LF
    [event] = named(logged, "rate_limit.exceeded")
    assert event["key"] == forged.lower()
    assert named(logged, "login.success") == []
    assert 'x@example.com\\r\\nevent=\\"login.success\\"' in caplog.text


def test_secret_fields_are_never_written(app, events):
    with app.test_request_context("/"):
        log_security_event("test", password="hunter2", reset_token="abc", code="123456", n=1)
    [event] = events()
    assert event["password"] == event["reset_token"] == event["code"] == "[redacted]"
    assert event["n"] == 1


def test_password_reset_is_logged_without_the_token(
    client, app_context, events, outbox, caplog, make_user
):
    user = make_user()
    client.submit("/auth/forgot-password", {"email": "user@example.com"})
    path = re.search(r"/auth/reset-password/([\w-]+)", outbox[0].body)
    token = path.group(1)
    data = {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    client.get(path.group(0))
    assert client.submit("/auth/reset-password", data).status_code == 302
    logged = events()
    [requested] = named(logged, "password.reset_requested")
    assert requested["user_id"] == user.id
    [reset] = named(logged, "password.reset")
    assert reset["user_id"] == user.id
    assert reset["ip"] == "127.0.0.1"
    assert named(logged, "password.changed")[0]["user_id"] == user.id
    assert token not in caplog.text
    assert NEW_PASSWORD not in caplog.text


def test_password_change_is_logged(client, app_context, events, caplog, make_user):
    user = make_user()
    client.log_in()
    data = {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    client.submit("/account/password", {**data, "current_password": WRONG})
    client.submit("/account/password", {**data, "current_password": PASSWORD})
    logged = events()
    assert named(logged, "password.change_failure")[0]["user_id"] == user.id
    [changed] = named(logged, "password.changed")
    assert changed["user_id"] == user.id
    assert changed["ip"] == "127.0.0.1"
    for secret in (PASSWORD, NEW_PASSWORD, WRONG):
        assert secret not in caplog.text
{%- if cookiecutter.use_otp %}


def test_a_wrong_code_is_logged_without_any_code(
    client, app_context, events, outbox, caplog, find_user
):
    data = {"email": "fresh@example.com", "password": NEW_PASSWORD}
    client.submit("/auth/signup", {**data, "confirm_password": NEW_PASSWORD})
    real_code = re.search(r"\b(\d{6})\b", outbox[0].body).group(1)
    wrong_code = "000000" if real_code != "000000" else "111111"
    client.submit("/auth/verify", {"code": wrong_code})
    [failure] = named(events(), "otp.failure")
    assert failure["user_id"] == find_user("fresh@example.com").id
    assert failure["ip"] == "127.0.0.1"
    assert wrong_code not in caplog.text
    assert real_code not in caplog.text
{%- endif %}

{%- if cookiecutter.use_admin %}


def test_admin_actions_are_logged(client, app_context, events, outbox, caplog, make_user):
    admin_id = make_user("admin@example.com", is_admin=True).id
    member_id = make_user().id
    client.log_in("admin@example.com")
    for action in ("promote", "demote", "send-reset", "deactivate", "delete"):
        response = client.submit("/admin/users", {}, action=f"/admin/users/{member_id}/{action}")
        assert response.status_code == 302, action
    admin_events = [event for event in events() if event["event"].startswith("admin.")]
    assert [event["event"] for event in admin_events] == [
        "admin.promote",
        "admin.demote",
        "admin.send_reset",
        "admin.deactivate",
        "admin.delete",
    ]
    for event in admin_events:
        assert event["user_id"] == admin_id
        assert event["subject_id"] == member_id
        assert event["ip"] == "127.0.0.1"
    token = re.search(r"/auth/reset-password/([\w-]+)", outbox[0].body).group(1)
    assert token not in caplog.text
{%- endif %}


def test_behind_a_trusted_proxy_the_client_address_is_logged(make_app, events):
    behind_proxy = make_app("testing", schema=True, TRUSTED_PROXIES=1)
    client = behind_proxy.test_client()
    client.submit(
        "/auth/login",
        {"email": "nobody@example.com", "password": WRONG},
        environ_overrides={"REMOTE_ADDR": "10.0.0.1"},
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"},
    )
    [event] = named(events(), "login.failure")
    assert event["ip"] == "203.0.113.9"


def test_without_trusted_proxies_a_forged_forwarded_for_is_not_logged(client, events):
    client.submit(
        "/auth/login",
        {"email": "nobody@example.com", "password": WRONG},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    [event] = named(events(), "login.failure")
    assert event["ip"] == "127.0.0.1"
