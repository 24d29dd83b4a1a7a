"""Rate limits (ASVS 6.3.1, 2.4.1): per address and per account, behind proxies.

Limits are set small per test (they are read from the config on every request); the
shared app counts in memory and conftest.py resets the counts after each test.
test_serving.py checks one count on Redis shared by two workers, and Redis down.
"""

import re
{%- if cookiecutter.use_otp %}
from datetime import timedelta
{%- endif %}

import pytest
from helpers import PASSWORD

WRONG = "not the right password"


@pytest.fixture
def limits(app, monkeypatch):
    """Set limits on the shared app for one test: limits(RATELIMIT_SIGNUP="2/minute")."""

    def set_limits(**values):
        for name, value in values.items():
            monkeypatch.setitem(app.config, name, value)

    return set_limits


def from_address(address: str) -> dict:
    return {"environ_overrides": {"REMOTE_ADDR": address}}


def try_login(client, email="user@example.com", password=WRONG, address="192.0.2.1", **kwargs):
    data = {"email": email, "password": password}
    return client.submit("/auth/login", data, environ_overrides={"REMOTE_ADDR": address}, **kwargs)


def log_out(client):
    return client.submit("/dashboard", {}, action="/auth/logout")


def assert_throttled(response):
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 60


# --- login ------------------------------------------------------------------------


def test_login_is_limited_per_address(app, client, app_context, limits, make_user):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="3/minute", RATELIMIT_LOGIN_PER_ACCOUNT="100/minute")
    make_user()
    for number in range(3):
        assert try_login(client, f"guess{number}@example.com").status_code == 200
    # Request 4 is refused, even with the right password.
    assert_throttled(try_login(client, password=PASSWORD))
    assert client.get("/dashboard").status_code == 302
    # The page itself still opens; another address is not affected.
    assert client.get("/auth/login").status_code == 200
    other = app.test_client()
    assert try_login(other, password=PASSWORD, address="198.51.100.7").status_code == 302


def test_login_is_limited_per_account_across_addresses(app, client, app_context, limits, make_user):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    make_user()
    make_user("other@example.com")
    for number in range(3):
        assert try_login(client, address=f"203.0.113.{number}").status_code == 200
    # A guess from yet another address is refused, and so is the owner, for now.
    assert_throttled(try_login(client, address="203.0.113.50"))
    assert_throttled(try_login(app.test_client(), password=PASSWORD, address="198.51.100.1"))
    # Other accounts are not affected.
    other = app.test_client()
    response = try_login(other, "other@example.com", PASSWORD, address="203.0.113.0")
    assert response.status_code == 302


def test_spellings_of_one_address_share_one_count(client, app_context, limits, make_user):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    make_user()
    # Full-width letters in the domain name the same account (IDNA), so they count too.
    for email in ("USER@example.com", " user@EXAMPLE.COM ", "user@\uff25\uff38ample.com"):
        assert try_login(client, email).status_code == 200
    assert_throttled(try_login(client, "User@Example.com"))


def test_only_failures_count_against_the_account(client, app_context, limits, make_user):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="2/minute")
    make_user()
    for _ in range(4):
        assert try_login(client, password=PASSWORD).status_code == 302
        log_out(client)


def test_a_successful_login_clears_the_failures(client, app_context, limits, make_user):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    make_user()
    for _ in range(2):
        assert try_login(client).status_code == 200
    assert try_login(client, password=PASSWORD).status_code == 302
    log_out(client)
    # Without the reset these would be failures 3 and 4, and 4 would be refused.
    for _ in range(2):
        assert try_login(client).status_code == 200
    assert try_login(client, password=PASSWORD).status_code == 302


def test_the_owner_can_reset_the_password_while_login_is_throttled(
    app, client, app_context, limits, outbox, make_user
):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="2/minute")
    make_user()
    for number in range(2):
        try_login(app.test_client(), address=f"203.0.113.{number}")
    assert_throttled(try_login(client, password=PASSWORD))
    response = client.submit("/auth/forgot-password", {"email": "user@example.com"})
    assert response.status_code == 302
    assert len(outbox) == 1
    assert "/auth/reset-password/" in outbox[0].body


# --- lockout: strangers' failures must not lock out the owner ------------------------


def lock_out(app, limits, email="user@example.com"):
    """Strangers, each from its own address, use up the account's failed logins."""
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    for number in range(3):
        try_login(app.test_client(), email, address=f"203.0.113.{number}")
    assert_throttled(try_login(app.test_client(), email, PASSWORD, address="198.51.100.9"))


def test_a_browser_that_signed_in_before_is_not_locked_out_by_strangers(
    app, client, app_context, limits, make_user
):
    make_user()
    assert try_login(client, password=PASSWORD).status_code == 302
    log_out(client)
    lock_out(app, limits)
    # The owner's browser carries its device cookie and is counted on its own.
    assert try_login(client, password=PASSWORD).status_code == 302


def test_a_known_browser_has_its_own_failure_limit(app, client, app_context, limits, make_user):
    make_user()
    assert try_login(client, password=PASSWORD).status_code == 302
    log_out(client)
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    for _ in range(3):
        assert try_login(client).status_code == 200
    assert_throttled(try_login(client, password=PASSWORD))


def test_a_device_cookie_counts_only_for_its_own_account(
    app, client, app_context, limits, make_user
):
    make_user()
    make_user("other@example.com")
    assert try_login(client, password=PASSWORD).status_code == 302
    log_out(client)
    lock_out(app, limits, "other@example.com")
    assert_throttled(try_login(client, "other@example.com", PASSWORD))


def test_a_forged_device_cookie_is_ignored(app, client, app_context, limits, make_user):
    make_user()
    lock_out(app, limits)
    client.set_cookie(app.config["DEVICE_COOKIE_NAME"], '["user@example.com", "made-up"]')
    assert_throttled(try_login(client, password=PASSWORD))


def test_a_completed_password_reset_lifts_the_lock(
    app, client, app_context, limits, outbox, make_user
):
    make_user()
    lock_out(app, limits)
    client.submit("/auth/forgot-password", {"email": "user@example.com"})
    link = re.search(r"/auth/reset-password/[\w-]+", outbox[-1].body).group(0)
    client.get(link)
    new_password = "a brand new passphrase"
    data = {"password": new_password, "confirm_password": new_password}
    assert client.submit("/auth/reset-password", data).headers["Location"] == "/auth/login"
    assert try_login(app.test_client(), password=new_password).status_code == 302


# --- client addresses -------------------------------------------------------------


def test_ipv6_clients_are_counted_per_64_block(app, client, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="3/minute", RATELIMIT_LOGIN_PER_ACCOUNT="100/minute")
    # One subscriber's /64 holds 2^64 addresses: changing address changes nothing.
    for number in range(1, 4):
        response = try_login(client, f"u{number}@example.com", address=f"2001:db8:1:2::{number}")
        assert response.status_code == 200
    assert_throttled(try_login(client, address="2001:db8:1:2:ffff:ffff:ffff:ffff"))
    # The next /64 is another client.
    assert try_login(app.test_client(), address="2001:db8:1:3::1").status_code == 200
    # An IPv4 client seen through an IPv6 socket is that IPv4 client.
    limits(RATELIMIT_LOGIN_PER_ADDRESS="1/minute")
    assert try_login(app.test_client(), address="192.0.2.77").status_code == 200
    assert_throttled(try_login(app.test_client(), address="::ffff:192.0.2.77"))


# --- other forms ------------------------------------------------------------------


def test_signup_is_limited_per_address(app, client, app_context, limits):
    limits(RATELIMIT_SIGNUP="2/minute")
    password = "a brand new passphrase"
    data = {"password": password, "confirm_password": password}
    for number in range(2):
        response = client.submit("/auth/signup", {**data, "email": f"fresh{number}@example.com"})
        assert response.status_code == 302
    assert_throttled(client.submit("/auth/signup", {**data, "email": "fresh9@example.com"}))
    other = app.test_client()
    response = other.submit(
        "/auth/signup",
        {**data, "email": "fresh8@example.com"},
        **from_address("198.51.100.7"),
    )
    assert response.status_code == 302


def test_forgot_password_is_limited_per_address(client, app_context, limits, outbox):
    limits(RATELIMIT_FORGOT_PER_ADDRESS="2/minute", RATELIMIT_FORGOT_PER_ACCOUNT="100/minute")
    for number in range(2):
        response = client.submit("/auth/forgot-password", {"email": f"a{number}@example.com"})
        assert response.status_code == 302
    assert_throttled(client.submit("/auth/forgot-password", {"email": "a9@example.com"}))


def test_forgot_password_is_limited_per_email(app, client, app_context, limits, outbox, make_user):
    limits(RATELIMIT_FORGOT_PER_ADDRESS="100/minute", RATELIMIT_FORGOT_PER_ACCOUNT="2/minute")
    make_user()
    data = {"email": "user@example.com"}
    for number in range(2):
        response = client.submit("/auth/forgot-password", data, **from_address(f"10.0.0.{number}"))
        assert response.status_code == 302
    assert len(outbox) == 2
    # A third mail to the same inbox is refused from any address ...
    assert_throttled(client.submit("/auth/forgot-password", data, **from_address("10.0.0.9")))
    assert len(outbox) == 2
    # ... while another address can still ask.
    other = {"email": "someone@example.com"}
    response = client.submit("/auth/forgot-password", other, **from_address("10.0.0.9"))
    assert response.status_code == 302


def test_sign_up_mails_to_a_taken_address_are_limited(app, app_context, limits, outbox, make_user):
    limits(RATELIMIT_SIGNUP="100/minute", RATELIMIT_MAIL_PER_RECIPIENT="2/hour")
    make_user("taken@example.com")
    password = "a brand new passphrase"
    data = {"email": "taken@example.com", "password": password, "confirm_password": password}
    for number in range(4):
        address = from_address(f"10.0.1.{number}")
        response = app.test_client().submit("/auth/signup", data, **address)
        assert response.status_code == 302
    assert [message.subject.split(" - ")[0] for message in outbox] == [
        "Someone tried to sign up with your address"
    ] * 2


def test_password_change_is_limited_per_user(app, client, app_context, limits, make_user):
    limits(RATELIMIT_CREDENTIAL_CHANGE="2/minute")
    make_user()
    client.log_in()
    data = {
        "current_password": "not my password at all",
        "password": "a brand new passphrase",
        "confirm_password": "a brand new passphrase",
    }
    for _ in range(2):
        assert client.submit("/account/password", data).status_code == 200
    assert_throttled(client.submit("/account/password", data))
    # The same user from another browser and address is still throttled.
    second = app.test_client()
    second.submit("/auth/login", {"email": "user@example.com", "password": PASSWORD})
    assert_throttled(second.submit("/account/password", data, **from_address("198.51.100.3")))
{%- if cookiecutter.use_otp %}


def sign_up_for_a_code(client, email="fresh@example.com"):
    password = "a brand new passphrase"
    data = {"email": email, "password": password, "confirm_password": password}
    assert client.submit("/auth/signup", data).status_code == 302


def test_code_verification_is_limited_per_address(client, app_context, limits, outbox):
    limits(RATELIMIT_VERIFY="2/minute")
    sign_up_for_a_code(client)
    for _ in range(2):
        assert client.submit("/auth/verify", {"code": "000000"}).status_code == 200
    assert_throttled(client.submit("/auth/verify", {"code": "000000"}))


def test_codes_to_one_mailbox_are_limited_whoever_asks(app, app_context, limits, outbox):
    limits(RATELIMIT_SIGNUP="100/minute", RATELIMIT_MAIL_PER_RECIPIENT="2/hour")
    for _ in range(4):
        sign_up_for_a_code(app.test_client(), "target@example.com")
    assert len(outbox) == 2


def test_code_resend_is_limited_per_address(app, client, app_context, limits, monkeypatch):
    limits(RATELIMIT_RESEND="2/minute")
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    sign_up_for_a_code(client)
    for _ in range(2):
        response = client.submit("/auth/verify", {}, action="/auth/verify/resend")
        assert response.status_code == 302
    assert_throttled(client.submit("/auth/verify", {}, action="/auth/verify/resend"))
{%- endif %}


def test_the_429_page_speaks_json_too(client, limits):
    limits(RATELIMIT_SIGNUP="1/minute")
    client.submit("/auth/signup", {})
    response = client.submit("/auth/signup", {}, headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.get_json()["error"] == "Too many requests"
    assert int(response.headers["Retry-After"]) > 0


# --- proxies ----------------------------------------------------------------------


def test_a_forged_forwarded_for_changes_nothing_without_trusted_proxies(client, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="3/minute", RATELIMIT_LOGIN_PER_ACCOUNT="100/minute")
    for number in range(3):
        headers = {"X-Forwarded-For": f"203.0.113.{number}"}
        assert try_login(client, f"u{number}@example.com", headers=headers).status_code == 200
    assert_throttled(try_login(client, headers={"X-Forwarded-For": "203.0.113.99"}))


def test_limits_key_on_the_client_behind_a_trusted_proxy(make_app):
    behind_proxy = make_app("testing", schema=True, TRUSTED_PROXIES=1)
    behind_proxy.config["RATELIMIT_LOGIN_PER_ADDRESS"] = "3/minute"
    behind_proxy.config["RATELIMIT_LOGIN_PER_ACCOUNT"] = "100/minute"
    client = behind_proxy.test_client()
    # The same client through two proxy instances counts as one.
    for number in range(3):
        response = try_login(
            client,
            f"u{number}@example.com",
            address=f"10.0.0.{number % 2}",
            headers={"X-Forwarded-For": "203.0.113.7"},
        )
        assert response.status_code == 200
    assert_throttled(
        try_login(client, address="10.0.0.1", headers={"X-Forwarded-For": "203.0.113.7"})
    )
    # A value the client made up itself sits left of what the proxy added: ignored.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert_throttled(try_login(client, address="10.0.0.1", headers=forged))
    # Other clients behind the same proxy are not affected.
    other = {"X-Forwarded-For": "203.0.113.8"}
    assert try_login(client, address="10.0.0.1", headers=other).status_code == 200
