"""Rate limits (ASVS 6.3.1, 2.4.1): per address and per account, behind proxies, on Redis.

Limits are set small per test (they are read from the config on every request); the
shared app counts in memory and conftest.py resets the counts after each test.
"""

import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
{%- if cookiecutter.use_otp %}
from datetime import timedelta
{%- endif %}
from http.client import HTTPConnection
from pathlib import Path

import pytest
import redis
from extra_apps import PROJECT_ENV_VARS, production_env
from sqlalchemy import create_engine

from {{ cookiecutter.package_name }}.extensions import db

from conftest import PASSWORD, create_user, log_in, submit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WRONG = "not the right password"
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


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
    return submit(client, "/auth/login", data, environ_overrides={"REMOTE_ADDR": address}, **kwargs)


def log_out(client):
    return submit(client, "/dashboard", {}, action="/auth/logout")


def assert_throttled(response):
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- login ------------------------------------------------------------------------


def test_login_is_limited_per_address(app, client, app_context, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="3/minute", RATELIMIT_LOGIN_PER_ACCOUNT="100/minute")
    create_user()
    for number in range(3):
        assert try_login(client, f"guess{number}@example.com").status_code == 200
    # Request 4 is refused, even with the right password.
    assert_throttled(try_login(client, password=PASSWORD))
    assert client.get("/dashboard").status_code == 302
    # The page itself still opens; another address is not affected.
    assert client.get("/auth/login").status_code == 200
    other = app.test_client()
    assert try_login(other, password=PASSWORD, address="198.51.100.7").status_code == 302


def test_login_is_limited_per_account_across_addresses(app, client, app_context, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    create_user()
    create_user("other@example.com")
    for number in range(3):
        assert try_login(client, address=f"203.0.113.{number}").status_code == 200
    # A guess from yet another address is refused, and so is the owner, for now.
    assert_throttled(try_login(client, address="203.0.113.50"))
    assert_throttled(try_login(app.test_client(), password=PASSWORD, address="198.51.100.1"))
    # Other accounts are not affected.
    other = app.test_client()
    response = try_login(other, "other@example.com", PASSWORD, address="203.0.113.0")
    assert response.status_code == 302


def test_spellings_of_one_address_share_one_count(client, app_context, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    create_user()
    # Full-width letters in the domain name the same account (IDNA), so they count too.
    for email in ("USER@example.com", " user@EXAMPLE.COM ", "user@\uff25\uff38ample.com"):
        assert try_login(client, email).status_code == 200
    assert_throttled(try_login(client, "User@Example.com"))


def test_only_failures_count_against_the_account(client, app_context, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="2/minute")
    create_user()
    for _ in range(4):
        assert try_login(client, password=PASSWORD).status_code == 302
        log_out(client)


def test_a_successful_login_clears_the_failures(client, app_context, limits):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="3/minute")
    create_user()
    for _ in range(2):
        assert try_login(client).status_code == 200
    assert try_login(client, password=PASSWORD).status_code == 302
    log_out(client)
    # Without the reset these would be failures 3 and 4, and 4 would be refused.
    for _ in range(2):
        assert try_login(client).status_code == 200
    assert try_login(client, password=PASSWORD).status_code == 302


def test_the_owner_can_reset_the_password_while_login_is_throttled(
    app, client, app_context, limits, outbox
):
    limits(RATELIMIT_LOGIN_PER_ADDRESS="100/minute", RATELIMIT_LOGIN_PER_ACCOUNT="2/minute")
    create_user()
    for number in range(2):
        try_login(app.test_client(), address=f"203.0.113.{number}")
    assert_throttled(try_login(client, password=PASSWORD))
    response = submit(client, "/auth/forgot-password", {"email": "user@example.com"})
    assert response.status_code == 302
    assert len(outbox) == 1
    assert "/auth/reset-password/" in outbox[0].body


# --- other forms ------------------------------------------------------------------


def test_signup_is_limited_per_address(app, client, app_context, limits):
    limits(RATELIMIT_SIGNUP="2/minute")
    password = "a brand new passphrase"
    data = {"password": password, "confirm_password": password}
    for number in range(2):
        response = submit(client, "/auth/signup", {**data, "email": f"fresh{number}@example.com"})
        assert response.status_code == 302
    assert_throttled(submit(client, "/auth/signup", {**data, "email": "fresh9@example.com"}))
    other = app.test_client()
    response = submit(
        other,
        "/auth/signup",
        {**data, "email": "fresh8@example.com"},
        **from_address("198.51.100.7"),
    )
    assert response.status_code == 302


def test_forgot_password_is_limited_per_address(client, app_context, limits, outbox):
    limits(RATELIMIT_FORGOT_PER_ADDRESS="2/minute", RATELIMIT_FORGOT_PER_ACCOUNT="100/minute")
    for number in range(2):
        response = submit(client, "/auth/forgot-password", {"email": f"a{number}@example.com"})
        assert response.status_code == 302
    assert_throttled(submit(client, "/auth/forgot-password", {"email": "a9@example.com"}))


def test_forgot_password_is_limited_per_email(app, client, app_context, limits, outbox):
    limits(RATELIMIT_FORGOT_PER_ADDRESS="100/minute", RATELIMIT_FORGOT_PER_ACCOUNT="2/minute")
    create_user()
    data = {"email": "user@example.com"}
    for number in range(2):
        response = submit(client, "/auth/forgot-password", data, **from_address(f"10.0.0.{number}"))
        assert response.status_code == 302
    assert len(outbox) == 2
    # A third mail to the same inbox is refused from any address ...
    assert_throttled(submit(client, "/auth/forgot-password", data, **from_address("10.0.0.9")))
    assert len(outbox) == 2
    # ... while another address can still ask.
    other = {"email": "someone@example.com"}
    response = submit(client, "/auth/forgot-password", other, **from_address("10.0.0.9"))
    assert response.status_code == 302


def test_password_change_is_limited_per_user(app, client, app_context, limits):
    limits(RATELIMIT_CREDENTIAL_CHANGE="2/minute")
    create_user()
    log_in(client)
    data = {
        "current_password": "not my password at all",
        "password": "a brand new passphrase",
        "confirm_password": "a brand new passphrase",
    }
    for _ in range(2):
        assert submit(client, "/account/password", data).status_code == 200
    assert_throttled(submit(client, "/account/password", data))
    # The same user from another browser and address is still throttled.
    second = app.test_client()
    submit(second, "/auth/login", {"email": "user@example.com", "password": PASSWORD})
    assert_throttled(submit(second, "/account/password", data, **from_address("198.51.100.3")))
{%- if cookiecutter.use_otp %}


def sign_up_for_a_code(client, email="fresh@example.com"):
    password = "a brand new passphrase"
    data = {"email": email, "password": password, "confirm_password": password}
    assert submit(client, "/auth/signup", data).status_code == 302


def test_code_verification_is_limited_per_address(client, app_context, limits, outbox):
    limits(RATELIMIT_VERIFY="2/minute")
    sign_up_for_a_code(client)
    for _ in range(2):
        assert submit(client, "/auth/verify", {"code": "000000"}).status_code == 200
    assert_throttled(submit(client, "/auth/verify", {"code": "000000"}))


def test_code_resend_is_limited_per_address(app, client, app_context, limits, monkeypatch):
    limits(RATELIMIT_RESEND="2/minute")
    monkeypatch.setitem(app.config, "OTP_RESEND_COOLDOWN", timedelta(0))
    sign_up_for_a_code(client)
    for _ in range(2):
        response = submit(client, "/auth/verify", {}, action="/auth/verify/resend")
        assert response.status_code == 302
    assert_throttled(submit(client, "/auth/verify", {}, action="/auth/verify/resend"))
{%- endif %}


def test_the_429_page_speaks_json_too(client, limits):
    limits(RATELIMIT_SIGNUP="1/minute")
    submit(client, "/auth/signup", {})
    response = submit(client, "/auth/signup", {}, headers={"Accept": "application/json"})
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
    behind_proxy = make_app("testing", schema=True, TRUSTED_PROXIES="1")
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


# --- storage ----------------------------------------------------------------------


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without the project's variables, plus production's."""
    env = {name: value for name, value in os.environ.items() if name not in PROJECT_ENV_VARS}
    env.pop("PYTHONPATH", None)
    env.update(production_env(), APP_ENV="production")
    env.update(values)
    return env


REDIS_DOWN_SCRIPT = """
import json, re
from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.extensions import db

url = "https://app.example.com"
app = create_app("production")
with app.app_context():
    db.create_all()
client = app.test_client()
page = client.get("/auth/login", base_url=url).get_data(as_text=True)
token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
statuses = []
for number in range(4):
    response = client.post(
        "/auth/login",
        data=dict(csrf_token=token, email="u%d@example.com" % number, password="x" * 12),
        base_url=url,
        headers=dict(Referer=url + "/auth/login"),
    )
    statuses.append(response.status_code)
health = client.get("/healthz", base_url=url).status_code
print(json.dumps(dict(statuses=statuses, health=health)))
"""


def test_limits_still_apply_when_redis_is_down(tmp_path):
    """Fail-safe (config.py): with Redis unreachable each worker counts in memory."""
    env = clean_env(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens
        RATELIMIT_LOGIN_PER_ADDRESS="3/minute",
        BCRYPT_LOG_ROUNDS="4",
    )
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", REDIS_DOWN_SCRIPT],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    # Not fail-open (a 4th guess would pass) and not fail-closed (500s).
    assert outcome == {"statuses": [200, 200, 200, 429], "health": 200}
    assert "Rate limit storage unreachable" in result.stderr
    assert time.monotonic() - started < 30


# --- real Redis, several gunicorn workers -------------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable ({error}); set TEST_REDIS_URL")
    yield client
    client.close()


class Browser:
    """Just enough of a browser for plain HTTP to gunicorn: one cookie jar, new connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None):
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, text


def wait_until_up(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn stopped:\n{log.read_text()}")
        try:
            status, _, _ = Browser(port).request("GET", "/healthz")
        except OSError:
            status = None
        if status == 200:
            return
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer /healthz:\n{log.read_text()}")


def test_two_gunicorn_workers_share_one_count_in_redis(tmp_path, redis_client):
    limit = 6
    port = free_port()
    prefix = f"test-{uuid.uuid4().hex}"
    env = clean_env(
        BASE_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}",
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=prefix,
        RATELIMIT_LOGIN_PER_ADDRESS=f"{limit}/minute",
        RATELIMIT_LOGIN_PER_ACCOUNT="1000/minute",
        # Slow enough (tens of ms per attempt) that two attempts sent together overlap.
        BCRYPT_LOG_ROUNDS="10",
    )
    engine = create_engine(env["DATABASE_URL"])
    db.metadata.create_all(engine)
    engine.dispose()
    access_log = tmp_path / "access.log"
    error_log = tmp_path / "error.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers=2",
        f"--bind=127.0.0.1:{port}",
        f"--access-logfile={access_log}",
        "--access-logformat=%(p)s %(m)s %(U)s %(s)s",
        f"--error-logfile={error_log}",
        "wsgi:app",
    ]
    server = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)  # noqa: S603
    try:
        wait_until_up(server, port, error_log)
        browser = Browser(port)
        _, _, page = browser.request("GET", "/auth/login")
        token = CSRF_VALUE.search(page).group(1)

        def attempt(number: int):
            body = f"csrf_token={token}&email=u{number}%40example.com&password=wrong+password"
            return browser.request("POST", "/auth/login", body)

        # Two at a time: each sync worker takes one (bcrypt keeps both busy), so both
        # workers count. With per-worker memory each would allow `limit` on its own.
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = []
            for first in range(0, limit, 2):
                statuses += [status for status, _, _ in pool.map(attempt, (first, first + 1))]
            assert statuses == [200] * limit
            refused = list(pool.map(attempt, (limit, limit + 1)))
        for status, headers, text in refused:
            assert status == 429
            assert "Too many requests" in text
            assert 0 < int(headers["Retry-After"]) <= 60

        workers = {
            line.split()[0]
            for line in access_log.read_text().splitlines()
            if " POST /auth/login " in line
        }
        assert len(workers) == 2, "both workers must have served the sign-in attempts"
        assert any(redis_client.scan_iter(match=f"*{prefix}*")), "nothing was counted in Redis"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for key in redis_client.scan_iter(match=f"*{prefix}*"):
            redis_client.delete(key)
