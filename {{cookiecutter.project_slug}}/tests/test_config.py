"""Production configuration (ASVS 13.4, 3.3, 4.1): refuses unsafe settings, cookies, hosts."""

import ast
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import click
import pytest
from extra_apps import PRODUCTION_HOST, PRODUCTION_URL, PROJECT_ENV_VARS, production_env, set_env
from helpers import PASSWORD
from werkzeug.middleware.proxy_fix import ProxyFix

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import ConfigurationError

CSRF_VALUE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "{{ cookiecutter.package_name }}"


def production_with(monkeypatch, **changes):
    env = production_env()
    env.update(changes)
    set_env(monkeypatch, env)
    return create_app("production")


@pytest.mark.parametrize(
    "secret_key",
    [
        None,
        "",
        "too-short-but-random-3f9a",
        "change-me",
        "change-me-change-me-change-me-change-me-change-me",
        "replace-me-with-a-long-random-value-0123456789",
        "x" * 64,
        "abababababababababababababababababababab",
    ],
)
def test_production_refuses_a_missing_short_or_placeholder_secret_key(monkeypatch, secret_key):
    with pytest.raises(ConfigurationError, match="SECRET_KEY must be a random value"):
        production_with(monkeypatch, SECRET_KEY=secret_key)


@pytest.mark.parametrize(
    "missing",
    [
        "MAIL_SERVER",
        "BASE_URL",
{%- if cookiecutter.database == "postgresql" %}
        "DATABASE_URL",
{%- endif %}
    ],
)
def test_production_refuses_to_start_without(monkeypatch, missing):
    with pytest.raises(ConfigurationError, match=missing):
        production_with(monkeypatch, **{missing: None})


def test_development_never_makes_up_a_secret_key(monkeypatch, tmp_path):
    """No per-process random key (it would break sessions across workers): it refuses."""
    monkeypatch.chdir(tmp_path)  # no .env to be found
    set_env(monkeypatch, {"DATABASE_URL": "sqlite://"})
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app("development")


def flask_command(folder: Path, env: dict[str, str], *args: str):
    """The real `flask` command line, run in `folder` with exactly these project variables."""
    process_env = {
        name: value
        for name, value in os.environ.items()
        if name not in PROJECT_ENV_VARS and not name.startswith("FLASK_")
    }
    process_env.update(env, PYTHONPATH=str(PROJECT))
    return subprocess.run(  # noqa: S603 (our own interpreter and package)
        [sys.executable, "-m", "flask", "--app", "{{ cookiecutter.package_name }}", *args],
        cwd=folder,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_refuses_to_run_on_the_development_dotenv(tmp_path):
    """The flask command loads .env before the app exists: its development key must not
    quietly become production's."""
    development_key = secrets.token_urlsafe(48)
    (tmp_path / ".env").write_text(f"APP_ENV=development\nSECRET_KEY={development_key}\n")
    env = production_env()
    del env["SECRET_KEY"]  # forgotten in production's environment; .env has one
    result = flask_command(tmp_path, {**env, "APP_ENV": "production"}, "routes")
    assert result.returncode != 0
    assert f"settings from {tmp_path / '.env'}" in result.stderr
    assert "holds its values for SECRET_KEY." in result.stderr
    assert "Traceback" not in result.stderr
    assert "/auth/login" not in result.stdout


@pytest.mark.parametrize("dotenv", [None, "APP_ENV=development\nSECRET_KEY={other_key}\n"])
def test_production_runs_on_its_own_environment(tmp_path, dotenv):
    """No .env, or one whose values the environment does not hold: nothing came from it."""
    if dotenv:
        (tmp_path / ".env").write_text(dotenv.format(other_key=secrets.token_urlsafe(48)))
    result = flask_command(tmp_path, {**production_env(), "APP_ENV": "production"}, "routes")
    assert result.returncode == 0, result.stderr
    assert "/auth/login" in result.stdout


def test_development_leaves_debug_to_flask_run_debug(make_app, monkeypatch, tmp_path):
    """`flask run --debug` sets FLASK_DEBUG=1 and turns on the debugger and the reloader;
    app.debug must follow it, on with them and off without them."""
    monkeypatch.chdir(tmp_path)  # no .env to be found
    settings = {"SECRET_KEY": secrets.token_urlsafe(48), "DATABASE_URL": "sqlite://"}
    assert make_app("development", **settings).debug is False
    assert make_app("development", env={"FLASK_DEBUG": "1"}, **settings).debug is True


def test_unknown_environment_is_refused(monkeypatch):
    set_env(monkeypatch, production_env())
    with pytest.raises(ConfigurationError, match="APP_ENV"):
        create_app("staging")


def test_production_runs_without_debug_and_with_the_given_key(make_app):
    env = production_env()
    app = make_app("production", env={**env, "FLASK_DEBUG": "1"})
    assert app.debug is False
    assert app.testing is False
    assert app.config["SECRET_KEY"] == env["SECRET_KEY"]
    assert app.config["PROPAGATE_EXCEPTIONS"] is not True


def test_requests_bigger_than_the_forms_need_are_refused(app):
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 1024 * 1024


def test_rate_limits_come_from_the_environment(make_app):
    app = make_app("production", env={"RATELIMIT_LOGIN_PER_ADDRESS": "7/minute"})
    assert app.config["RATELIMIT_LOGIN_PER_ADDRESS"] == "7/minute"


def test_test_config_comes_after_the_environment_and_before_the_checks(make_app):
    env = {"RATELIMIT_SIGNUP": "7/minute", "MAIL_PORT": "2525"}
    app = make_app("production", env=env, RATELIMIT_SIGNUP="8/minute")
    assert app.config["RATELIMIT_SIGNUP"] == "8/minute"
    assert app.config["MAIL_PORT"] == 2525
    with pytest.raises(ConfigurationError, match="RATELIMIT_SIGNUP"):
        make_app("production", RATELIMIT_SIGNUP="plenty")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        make_app("production", SECRET_KEY="change-me")


def test_testing_reads_nothing_from_the_environment(make_app):
    """Not even from a shell that loaded production's settings: no test reaches them."""
    env = {**production_env(), "DATABASE_URL": "sqlite:////production.db"}
    app = make_app("testing", env=env)
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
    assert app.config["SECRET_KEY"] != env["SECRET_KEY"]
    assert app.config["MAIL_SUPPRESS_SEND"] is True
    assert app.config["BASE_URL"] == "http://localhost"


def test_a_malformed_rate_limit_is_refused_at_start(monkeypatch):
    with pytest.raises(ConfigurationError, match="RATELIMIT_SIGNUP"):
        production_with(monkeypatch, RATELIMIT_SIGNUP="plenty")


def test_proxy_fix_trusts_exactly_the_configured_hops(make_app):
    assert not isinstance(make_app("production").wsgi_app, ProxyFix)
    app = make_app("production", TRUSTED_PROXIES=2)
    assert isinstance(app.wsgi_app, ProxyFix)
    assert app.wsgi_app.x_for == 2
    assert app.wsgi_app.x_proto == 2


# --- cookies ---------------------------------------------------------------------


def cookie_attributes(response, name: str) -> dict[str, str]:
    for header in response.headers.getlist("Set-Cookie"):
        cookie_name, _, rest = header.partition("=")
        if cookie_name == name:
            attributes = {}
            for part in rest.split(";")[1:]:
                key, _, value = part.strip().partition("=")
                attributes[key.lower()] = value
            return attributes
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


def sign_in(client, base_url: str, remember: bool = True):
    page = client.get("/auth/login", base_url=base_url)
    token = CSRF_VALUE.search(page.get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "email": "user@example.com", "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    # Over HTTPS Flask-WTF also wants a same-origin Referer (the browser sends one).
    headers = {"Referer": f"{base_url}/auth/login"}
    return client.post("/auth/login", data=data, base_url=base_url, headers=headers)


def test_cookies_are_httponly_and_samesite_lax(client, app_context, make_user):
    make_user()
    response = sign_in(client, "http://localhost")
    assert response.headers["Location"] == "/dashboard"
    for name in ("session", "remember_token"):
        attributes = cookie_attributes(response, name)
        assert "httponly" in attributes, name
        assert attributes["samesite"] == "Lax", name


def test_production_cookies_are_secure_and_host_prefixed(make_app, make_user):
    app = make_app("production", schema=True)
    with app.app_context():
        make_user()
    client = app.test_client()
    response = sign_in(client, PRODUCTION_URL)
    assert response.headers["Location"] == "/dashboard"
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    for name in ("__Host-session", "__Host-remember_token"):
        attributes = cookie_attributes(response, name)
        assert "secure" in attributes, name
        assert "httponly" in attributes, name
        assert attributes["samesite"] == "Lax", name
        # What the __Host- prefix demands: Path=/ and no Domain.
        assert attributes["path"] == "/", name
        assert "domain" not in attributes, name
    assert client.get("/dashboard", base_url=PRODUCTION_URL).status_code == 200


# --- host header -----------------------------------------------------------------


def test_production_answers_only_to_its_own_host(make_app):
    client = make_app("production").test_client()
    assert client.get("/", base_url=PRODUCTION_URL).status_code == 200
    for forged in ("https://evil.example", "https://app.example.com.evil.example"):
        response = client.get("/", base_url=forged)
        assert response.status_code == 400, forged
        assert "evil" not in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)
        assert response.headers["X-Frame-Options"] == "DENY"
    forged = client.get("/", base_url=PRODUCTION_URL, headers={"Host": "evil.example"})
    assert forged.status_code == 400
    # A health check run on the server itself asks for 127.0.0.1.
    assert client.get("/healthz", base_url="http://127.0.0.1:8000").status_code == 200


def test_trusted_hosts_from_the_environment(make_app):
    app = make_app("production", env={"TRUSTED_HOSTS": f"{PRODUCTION_HOST}, www.example.com"})
    client = app.test_client()
    assert client.get("/", base_url="https://www.example.com").status_code == 200
    assert client.get("/", base_url=PRODUCTION_URL).status_code == 200
    assert client.get("/", base_url="https://evil.example").status_code == 400
    json_reply = client.get(
        "/", base_url="https://evil.example", headers={"Accept": "application/json"}
    )
    assert json_reply.status_code == 400
    assert json_reply.get_json()["error"] == "Bad request"


def test_a_web_worker_never_sets_up_flask_migrate(app):
    # gunicorn imports wsgi outside any command: no `flask db` there...
    assert "migrate" not in app.extensions
    assert "db" not in app.cli.commands
    # ...and no module of the package imports Flask-Migrate (Alembic, Mako) on load.
    for module in PACKAGE.rglob("*.py"):
        for statement in ast.parse(module.read_text(encoding="utf-8")).body:
            if isinstance(statement, ast.Import):
                names = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom):
                names = [statement.module or ""]
            else:
                continue
            assert not any(name.startswith("flask_migrate") for name in names), module


def test_commands_get_flask_db(make_app):
    # The `flask` command loads the app while click runs it.
    with click.Context(click.Command("flask")):
        command_app = make_app("testing")
    # Reads migrations/ (Alembic prints the head itself, past click's runner).
    result = command_app.test_cli_runner().invoke(args=["db", "heads"])
    assert result.exit_code == 0, result.output
