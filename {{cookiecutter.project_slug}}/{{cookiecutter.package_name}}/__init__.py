"""{{ cookiecutter.project_name }}: the application factory."""

import logging
import os

import click
from dotenv import find_dotenv, load_dotenv
from flask import Flask

from . import cleanup, security
from .account.routes import bp as account_bp
{%- if cookiecutter.use_admin %}
from .admin.commands import create_admin
from .admin.routes import bp as admin_bp
{%- endif %}
from .auth.routes import bp as auth_bp
from .config import load_config
from .database import IdConverter
from .errors import register_error_pages
from .extensions import csrf, db, limiter, login_manager, mail
from .main.routes import bp as main_bp


def create_app(config_name: str | None = None, test_config: dict | None = None) -> Flask:
    config_name = config_name or os.environ.get("APP_ENV", "development")
    if config_name == "development":
        load_dotenv(find_dotenv(usecwd=True))

    app = Flask(__name__)
    app.config.from_object(load_config(config_name, test_config))
    app.logger.setLevel(logging.DEBUG if app.debug else logging.INFO)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
{%- if cookiecutter.use_admin %}
    register_commands(app)
{%- endif %}
    cleanup.init_app(app)
    security.init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    if click.get_current_context(silent=True):
        register_migrations(app)


def register_migrations(app: Flask) -> None:
    """`flask db`, set up only when the app is loaded by a command (click is running).

    Flask-Migrate imports Alembic and Mako, about 11 MB that no web worker needs, so a
    gunicorn worker never imports it.
    """
    from flask_migrate import Migrate

    # Batch mode lets SQLite alter tables (it recreates them behind the scenes).
    Migrate(app, db, render_as_batch=True)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
{%- if cookiecutter.use_admin %}
    app.register_blueprint(admin_bp)
{%- endif %}


def register_errorhandlers(app: Flask) -> None:
    register_error_pages(app)
{%- if cookiecutter.use_admin %}


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_admin)
{%- endif %}
