"""The app served as in production: gunicorn with two workers on real Redis, and Redis down.

Rate limits must hold across worker processes and survive a dead Redis, which the
in-process tests (test_rate_limits.py) cannot show: these tests start the app in
processes of their own. Both processes start together, with the module, so that their
boots (a second or more each) overlap. Skip them with `pytest -m "not serving"`.
"""

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest
import redis
from extra_apps import PROJECT_ENV_VARS, production_env
from sqlalchemy import create_engine

from {{ cookiecutter.package_name }}.extensions import db

pytestmark = pytest.mark.serving

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVING = Path(__file__).resolve().parent / "serving"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 6  # sign-in attempts per address and minute for gunicorn
CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without the project's variables, plus production's."""
    env = {name: value for name, value in os.environ.items() if name not in PROJECT_ENV_VARS}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(production_env(), APP_ENV="production")
    env.update(values)
    return env


class RedisDownRun:
    """serving/redis_down_app.py in a production environment whose Redis does not answer."""

    def __init__(self) -> None:
        # Bound but not listening: connections to its port are refused, and no other
        # process can take the port while the script runs.
        self.dead_port = socket.socket()
        self.dead_port.bind(("127.0.0.1", 0))
        port = self.dead_port.getsockname()[1]
        env = clean_env(
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0",
            RATELIMIT_LOGIN_PER_ADDRESS="3/minute",
            BCRYPT_LOG_ROUNDS="4",
        )
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and script)
            [sys.executable, str(SERVING / "redis_down_app.py")],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.output: tuple[str, str] | None = None

    def result(self) -> tuple[int, str, str]:
        """Exit status, stdout and stderr, once the script has finished."""
        if self.output is None:
            self.output = self.process.communicate(timeout=60)
        return self.process.returncode, *self.output

    def stop(self) -> None:
        if self.output is None:
            self.process.kill()
            self.output = self.process.communicate()
        self.dead_port.close()


def listening_socket() -> socket.socket:
    """A socket that listens on a free port before gunicorn starts, handed to it as
    fd://N: no other process can take the port in between, and requests sent early
    wait in the kernel's queue until a worker has booted, so nothing has to poll."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


class Gunicorn:
    """`gunicorn wsgi:app` with two sync workers, rate limits counted in Redis."""

    def __init__(self, folder: Path) -> None:
        listener = listening_socket()
        self.port = listener.getsockname()[1]
        self.prefix = f"test-{uuid.uuid4().hex}"
        self.access_log = folder / "access.log"
        self.error_log = folder / "error.log"
        env = clean_env(
            BASE_URL=f"http://127.0.0.1:{self.port}",
            DATABASE_URL=f"sqlite:///{folder / 'app.db'}",
            RATELIMIT_STORAGE_URI=REDIS_URL,
            RATELIMIT_KEY_PREFIX=self.prefix,
            RATELIMIT_LOGIN_PER_ADDRESS=f"{LIMIT}/minute",
            RATELIMIT_LOGIN_PER_ACCOUNT="1000/minute",
            # Slow enough (tens of ms per attempt) that two attempts sent together overlap.
            BCRYPT_LOG_ROUNDS="10",
            # gunicorn's control socket (version 24 and later) goes here, not to ~/.gunicorn.
            XDG_RUNTIME_DIR=str(folder),
        )
        engine = create_engine(env["DATABASE_URL"])
        db.metadata.create_all(engine)
        engine.dispose()
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--config={SERVING / 'gunicorn_quick_exit.py'}",
            "--workers=2",
            f"--bind=fd://{listener.fileno()}",
            f"--access-logfile={self.access_log}",
            "--access-logformat=%(p)s %(m)s %(U)s %(s)s",
            f"--error-logfile={self.error_log}",
            "wsgi:app",
        ]
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=PROJECT_ROOT, env=env, pass_fds=[listener.fileno()]
        )
        listener.close()  # gunicorn holds it now; if gunicorn exits, requests fail at once

    def wait_until_up(self) -> None:
        """The first /healthz answer; it comes as soon as a worker has booted."""
        try:
            status, _, _ = Browser(self.port).request("GET", "/healthz")
        except OSError as error:  # gunicorn exited and took the socket with it
            status = error
        if status != 200:
            state = "stopped" if self.process.poll() is not None else "did not answer /healthz"
            pytest.fail(f"gunicorn {state} ({status}):\n{self.error_log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module", autouse=True)
def started(request, tmp_path_factory):
    """The processes of the tests this run selected, started together."""
    selected = {item.name for item in request.session.items if item.path == request.path}
    processes = {}
    if "test_limits_still_apply_when_redis_is_down" in selected:
        processes["redis_down"] = RedisDownRun()
    if "test_two_gunicorn_workers_share_one_count_in_redis" in selected:
        processes["gunicorn"] = Gunicorn(tmp_path_factory.mktemp("gunicorn"))
    yield processes
    for process in processes.values():
        process.stop()


def test_limits_still_apply_when_redis_is_down(started):
    """Fail-safe (config.py): with Redis unreachable each worker counts in memory."""
    returncode, stdout, stderr = started["redis_down"].result()
    assert returncode == 0, stderr
    outcome = json.loads(stdout.strip().splitlines()[-1])
    seconds = outcome.pop("seconds")
    # Not fail-open (a 4th guess would pass) and not fail-closed (500s) ...
    assert outcome == {"statuses": [200, 200, 200, 429], "health": 200}
    assert "Rate limit storage unreachable" in stderr
    # ... and a dead Redis does not hang the app.
    assert seconds < 30


# --- real Redis, several gunicorn workers -------------------------------------------


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


def test_two_gunicorn_workers_share_one_count_in_redis(started, redis_client):
    server = started["gunicorn"]
    try:
        server.wait_until_up()
        browser = Browser(server.port)
        _, _, page = browser.request("GET", "/auth/login")
        token = CSRF_VALUE.search(page).group(1)

        def attempt(number: int):
            body = f"csrf_token={token}&email=u{number}%40example.com&password=wrong+password"
            return browser.request("POST", "/auth/login", body)

        # Two at a time: each sync worker takes one (bcrypt keeps both busy), so both
        # workers count. With per-worker memory each would allow `LIMIT` on its own.
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = []
            for first in range(0, LIMIT, 2):
                statuses += [status for status, _, _ in pool.map(attempt, (first, first + 1))]
            assert statuses == [200] * LIMIT
            refused = list(pool.map(attempt, (LIMIT, LIMIT + 1)))
        for status, headers, text in refused:
            assert status == 429
            assert "Too many requests" in text
            assert 0 < int(headers["Retry-After"]) <= 60

        workers = {
            line.split()[0]
            for line in server.access_log.read_text().splitlines()
            if " POST /auth/login " in line
        }
        assert len(workers) == 2, "both workers must have served the sign-in attempts"
        pattern = f"*{server.prefix}*"
        assert any(redis_client.scan_iter(match=pattern)), "nothing was counted in Redis"
    finally:
        server.stop()
        for key in redis_client.scan_iter(match=f"*{server.prefix}*"):
            redis_client.delete(key)
