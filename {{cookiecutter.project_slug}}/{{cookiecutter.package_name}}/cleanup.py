"""`flask cleanup`: deletes the rows that have expired, so no table grows forever.

An expired row already opens nothing; this only takes it away. Every model that says
when its rows expire (an `expired(now)` method usable in SQL) is cleaned, an option's
too. Run it daily (README: "Old rows").
"""

from datetime import datetime

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import delete

from .database import utcnow
from .extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(cleanup)


def expiring_models() -> list[type]:
    models = [mapper.class_ for mapper in db.Model.registry.mappers]
    expiring = [model for model in models if hasattr(model, "expired")]
    return sorted(expiring, key=lambda model: model.__tablename__)


def delete_expired(now: datetime | None = None) -> dict[str, int]:
    """Delete every expired row; returns how many went, per table."""
    now = now or utcnow()
    counts = {
        model.__tablename__: db.session.execute(delete(model).where(model.expired(now))).rowcount
        for model in expiring_models()
    }
    db.session.commit()
    return counts


@click.command("cleanup")
@with_appcontext
def cleanup() -> None:
    """Delete every expired row and say how many went from each table."""
    counts = ", ".join(f"{table} {count}" for table, count in delete_expired().items())
    click.echo(f"Deleted expired rows: {counts}.")
