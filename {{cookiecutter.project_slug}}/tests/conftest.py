"""Fixtures: one app and schema per test run, every table emptied after each test.

{%- if cookiecutter.database == "postgresql" %}
Set TEST_DATABASE_URL to run against PostgreSQL (as CI does); the default is a SQLite
file in a temporary folder.
{%- else %}
The database is a SQLite file in a temporary folder (TEST_DATABASE_URL overrides it).
{%- endif %}
"""

import contextlib
import os
import sqlite3
import time

import pytest
from extra_apps import TEMPLATES, AppFactory
from flask import current_app
from helpers import PASSWORD, IsolatedClient
from sqlalchemy import event, select

from {{ cookiecutter.package_name }} import create_app
{%- if cookiecutter.use_otp %}
from {{ cookiecutter.package_name }}.database import utcnow
{%- endif %}
from {{ cookiecutter.package_name }}.extensions import db, mail
from {{ cookiecutter.package_name }}.models import User
from {{ cookiecutter.package_name }}.passwords import hash_password
from {{ cookiecutter.package_name }}.throttling import limiter


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    database_url = os.environ.get("TEST_DATABASE_URL")
    if not database_url:
        database_url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app("testing", {"DATABASE_URL": database_url})
    app.test_client_class = IsolatedClient
    app.jinja_env.bytecode_cache = TEMPLATES
    with app.app_context():
        event.listen(db.engine, "connect", skip_disk_flush)
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


def skip_disk_flush(dbapi_connection, connection_record) -> None:
    """A throwaway database: commits need not wait for the disk (milliseconds each)."""
    cursor = dbapi_connection.cursor()
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor.execute("PRAGMA synchronous = OFF")
    else:
        cursor.execute("SET synchronous_commit = off")
        dbapi_connection.commit()
    cursor.close()


@pytest.fixture(autouse=True)
def _clean_state(app):
    yield
    with app.app_context():
        db.session.remove()
        # Plain DELETEs on a connection: through the ORM session each would also go
        # through its bulk-delete machinery, which doubles the cost of every test's end.
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
    limiter.reset()


@pytest.fixture
def make_app(app, monkeypatch):
    """Builds further apps (production, or testing with other settings) for one test."""
    factory = AppFactory(app, monkeypatch)
    yield factory
    factory.close()


@pytest.fixture
def app_context(app):
    with app.app_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    with mail.record_messages() as messages:
        yield messages


def create_user(email: str = "user@example.com", password: str = PASSWORD, **fields) -> User:
    """A ready-to-use account (verified{% if cookiecutter.use_admin %}, not an admin{% endif %} unless told otherwise)."""
{%- if cookiecutter.use_otp %}
    fields.setdefault("email_verified_at", utcnow())
{%- endif %}
    user = User(email=email, password_hash=hash_of(password), **fields)
    db.session.add(user)
    db.session.commit()
    return user


# bcrypt is slow on purpose, even at the testing cost; hundreds of accounts share a few
# passwords, so each (password, cost) is hashed once. Any bcrypt hash of a password
# verifies it, whatever its salt, so the accounts behave exactly as with hashes of
# their own.
PASSWORD_HASHES: dict[tuple[str, int], str] = {}


def hash_of(password: str) -> str:
    key = (password, current_app.config["BCRYPT_LOG_ROUNDS"])
    if key not in PASSWORD_HASHES:
        PASSWORD_HASHES[key] = hash_password(password)
    return PASSWORD_HASHES[key]


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


@contextlib.contextmanager
def hold_reads(table: str, seconds: float = 0.2):
    """Hold every SELECT from `table` for a moment, so that parallel requests all read
    before any of them writes: the widest race window, which the code must survive."""

    def hold(connection, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            time.sleep(seconds)

    event.listen(db.engine, "before_cursor_execute", hold)
    try:
        yield
    finally:
        event.remove(db.engine, "before_cursor_execute", hold)


@pytest.fixture
def make_user(app):
    """Makes accounts as create_user does; call it inside an app context."""
    return create_user


@pytest.fixture(name="find_user")
def find_user_fixture(app):
    """Looks an account up by e-mail address (see find_user); inside an app context."""
    return find_user


@pytest.fixture
def reads_held(app):
    """`with reads_held("users"):` holds every SELECT from a table (see hold_reads)."""
    return hold_reads
