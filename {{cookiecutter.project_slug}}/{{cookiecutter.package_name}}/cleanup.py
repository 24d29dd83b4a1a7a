"""`flask cleanup`: deletes the rows that have expired, so no table grows forever.

An expired row already opens nothing; this only takes it away. Run it daily (README:
"Old rows").
"""

from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import ColumnElement, and_, delete, or_

from .database import utcnow
from .extensions import db
from .models import {% if cookiecutter.use_otp %}OneTimeCode, {% endif %}PasswordResetToken, UserSession


def init_app(app: Flask) -> None:
    app.cli.add_command(cleanup)


def session_expired(now: datetime) -> ColumnElement[bool]:
    """auth.sessions.is_expired in SQL: too old, or idle too long and not remembered."""
    config = current_app.config
    return or_(
        UserSession.created_at < now - config["SESSION_ABSOLUTE_LIFETIME"],
        and_(
            ~UserSession.remember,
            UserSession.last_seen_at < now - config["SESSION_IDLE_TIMEOUT"],
        ),
    )


def delete_expired(now: datetime | None = None) -> dict[str, int]:
    """Delete every expired row; returns how many went, per table."""
    now = now or utcnow()
    expired = {
        UserSession: session_expired(now),
{%- if cookiecutter.use_otp %}
        OneTimeCode: OneTimeCode.expires_at <= now,
{%- endif %}
        PasswordResetToken: PasswordResetToken.expires_at <= now,
    }
    counts = {
        model.__tablename__: db.session.execute(delete(model).where(condition)).rowcount
        for model, condition in expired.items()
    }
    db.session.commit()
    return counts


@click.command("cleanup")
@with_appcontext
def cleanup() -> None:
    """Delete every expired row and say how many went from each table."""
    counts = ", ".join(f"{table} {count}" for table, count in delete_expired().items())
    click.echo(f"Deleted expired rows: {counts}.")
