"""Applications with another configuration than the shared testing app (see conftest.py).

Used by the security tests to check production settings and to register throwaway
routes. Their settings are given to create_app directly (test_config); the environment
holds none of the project's variables but those a test of how it is read sets, so the
shell a test runs in cannot change the outcome.
"""

import secrets

from helpers import IsolatedClient
from jinja2 import BytecodeCache

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import ENVIRONMENT_SETTINGS
from {{ cookiecutter.package_name }}.extensions import db
from {{ cookiecutter.package_name }}.throttling import limiter

PRODUCTION_HOST = "app.example.com"
PRODUCTION_URL = f"https://{PRODUCTION_HOST}"
PROJECT_ENV_VARS = ("APP_ENV", "FLASK_DEBUG", *ENVIRONMENT_SETTINGS)


def production_env() -> dict[str, str]:
    """The least a production deployment must set (DATABASE_URL: SQLite in memory), as
    environment variables or as create_app's test_config."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(48),
        "MAIL_SERVER": "smtp.invalid",
        "BASE_URL": PRODUCTION_URL,
        "DATABASE_URL": "sqlite://",
    }


def set_env(monkeypatch, env: dict[str, str | None]) -> None:
    """Exactly these project variables (None: unset), every other one cleared."""
    for name in PROJECT_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory, shared by every app the tests build: each new
    app would otherwise compile the same templates again."""

    def __init__(self) -> None:
        self.compiled = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = CompiledTemplates()


class AppFactory:
    """Builds extra apps; close() puts the shared extensions back on the testing app.

    The Flask-Limiter object is global and keeps the storage of the app it was bound
    to last, so after a test has built its own apps it must be bound to `app` again.
    """

    def __init__(self, app, monkeypatch) -> None:
        self.testing_app = app
        self.monkeypatch = monkeypatch
        self.apps = []

    def __call__(
        self,
        config_name: str = "production",
        schema: bool = False,
        env: dict[str, str] | None = None,
        **settings,
    ):
        """An app of `config_name` with these settings (create_app's test_config), on top
        of production_env() for production and the shared app's database for testing.

        The environment holds none of the project's variables but those of `env`, for
        tests of how it is read; a variable there replaces the default setting of its name.
        """
        env = env or {}
        if config_name == "production":
            defaults = production_env()
        elif config_name == "testing":
            defaults = {"DATABASE_URL": self.testing_app.config["DATABASE_URL"]}
        else:
            defaults = {}
        # bcrypt at production's cost (12) takes a quarter of a second per hash.
        defaults["BCRYPT_LOG_ROUNDS"] = 4
        test_config = {name: value for name, value in defaults.items() if name not in env}
        set_env(self.monkeypatch, env)
        new_app = create_app(config_name, {**test_config, **settings})
        new_app.test_client_class = IsolatedClient
        new_app.jinja_env.bytecode_cache = TEMPLATES
        self.apps.append(new_app)
        if schema:
            with new_app.app_context():
                db.create_all()
        return new_app

    def close(self) -> None:
        for extra in self.apps:
            with extra.app_context():
                db.session.remove()
                db.engine.dispose()
        limiter.init_app(self.testing_app)
