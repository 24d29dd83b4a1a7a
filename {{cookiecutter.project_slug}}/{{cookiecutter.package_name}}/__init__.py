"""{{ cookiecutter.project_name }}: the application factory."""

import logging
import os

import click
from dotenv import find_dotenv, load_dotenv
from flask import Flask

from . import (
    account,
{%- if cookiecutter.use_admin %}
    admin,
{%- endif %}
    auth,
    cleanup,
    database,
    errors,
    main,
    passwords,
    security,
    throttling,
{%- if cookiecutter.use_otp %}
    verification,
{%- endif %}
)
from .config import load_config
from .extensions import csrf, db, mail


def create_app(config_name: str | None = None, test_config: dict | None = None) -> Flask:
    config_name = config_name or os.environ.get("APP_ENV", "development")
    if config_name == "development":
        load_dotenv(find_dotenv(usecwd=True))

    app = Flask(__name__)
    app.config.from_object(load_config(config_name, test_config))
    app.logger.setLevel(logging.DEBUG if app.debug else logging.INFO)

    # What every page relies on.
    db.init_app(app)
    database.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    throttling.init_app(app)
    passwords.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    cleanup.init_app(app)
    if click.get_current_context(silent=True):
        register_migrations(app)

    # The features. An option's package is wired by its one line here.
    main.init_app(app)
    auth.init_app(app)
{%- if cookiecutter.use_otp %}
    verification.init_app(app)
{%- endif %}
    account.init_app(app)
{%- if cookiecutter.use_admin %}
    admin.init_app(app)
{%- endif %}
    return app


def register_migrations(app: Flask) -> None:
    """`flask db`, set up only when the app is loaded by a command (click is running).

    Flask-Migrate imports Alembic and Mako, about 11 MB that no web worker needs, so a
    gunicorn worker never imports it.
    """
    from flask_migrate import Migrate

    # Batch mode lets SQLite alter tables (it recreates them behind the scenes).
    Migrate(app, db, render_as_batch=True)
