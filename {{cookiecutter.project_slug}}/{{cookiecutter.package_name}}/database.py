"""Database conventions shared by the models and the migrations, and how to connect."""

import sqlite3
from datetime import datetime, timezone

from flask import Flask
from sqlalchemy import DateTime, event
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

# Named constraints make migrations reproducible (and SQLite batch migrations possible).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# The largest id an Integer primary key holds on every database (a signed 32-bit integer).
MAX_ID = 2**31 - 1


def normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy needs the driver named.
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def engine_options(url: str) -> dict:
    """Connection pool settings for PostgreSQL; SQLite keeps SQLAlchemy's defaults.

    Each process (gunicorn worker) keeps its own pool: 5 connections, 10 more at peaks.
    """
    if not url.startswith("postgresql"):
        return {}
    return {
        # Test a connection before handing it out: one the server, a proxy or a failover
        # closed while it sat idle is replaced instead of failing the request.
        "pool_pre_ping": True,
        # Renew connections after 30 minutes, before the idle timeouts of proxies and
        # load balancers (often an hour) cut them.
        "pool_recycle": 1800,
    }


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite stores no offset and hands back naive values; comparing those with aware
    ones raises, so values are normalised to UTC on the way in and out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use database.utcnow()")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


def init_app(app: Flask) -> None:
    """After db.init_app: SQLite's settings on every new connection of the app's engines,
    and `<id:...>` in routes."""
    app.url_map.converters["id"] = IdConverter
    with app.app_context():
        for engine in app.extensions["sqlalchemy"].engines.values():
            event.listen(engine, "connect", configure_sqlite)


def configure_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite leaves foreign keys off by default; WAL lets readers and a writer overlap."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: a row id. Anything a primary key cannot hold, such as a
    20-digit number, is a 404 before the view runs instead of a database error (500)."""

    def __init__(self, map, **kwargs) -> None:
        super().__init__(map, min=1, max=MAX_ID, **kwargs)
