"""The database models."""

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, and_, func, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .database import UTCDateTime, utcnow
from .extensions import db


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(60))
    is_active: Mapped[bool] = mapped_column(default=True)
{%- if cookiecutter.use_admin %}
    is_admin: Mapped[bool] = mapped_column(default=False)
{%- endif %}
{%- if cookiecutter.use_otp %}
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Wrong codes are counted per account, across resends, so a resend cannot reset them.
    otp_failed_attempts: Mapped[int] = mapped_column(default=0)
    otp_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
{%- endif %}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sessions: Mapped[list["UserSession"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Set by auth.sessions for the request's own session; Flask-Login stores get_id()
    # in the session and remember cookies.
    session_token = None
    current_session = None

    def get_id(self) -> str | None:
        # The server-side session token, not the user id: ending the session on the
        # server makes both cookies worthless (auth/sessions.py).
        return self.session_token
{%- if cookiecutter.use_otp %}

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None
{%- endif %}

    def __repr__(self) -> str:
        return f"<User {self.id}>"


# Case-insensitive uniqueness, enforced by the database itself.
Index("uq_users_email_lower", func.lower(User.email), unique=True)


class UserSession(db.Model):
    """One signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
{%- if cookiecutter.use_admin %}
    # When the user last proved they know the password (login or re-authentication).
    authenticated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
{%- endif %}
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="sessions")

    # `flask cleanup` deletes the rows of every model with an `expired` method.
    @hybrid_method
    def expired(self, now: datetime) -> bool:
        """Too old, or idle too long without "remember me". The one rule that signs a
        session out (auth/sessions.py) and deletes its row (cleanup.py)."""
        config = current_app.config
        too_old = self.created_at < now - config["SESSION_ABSOLUTE_LIFETIME"]
        idle = self.last_seen_at < now - config["SESSION_IDLE_TIMEOUT"]
        return too_old or (not self.remember and idle)

    @expired.expression
    def expired(cls, now: datetime):
        config = current_app.config
        return or_(
            cls.created_at < now - config["SESSION_ABSOLUTE_LIFETIME"],
            and_(~cls.remember, cls.last_seen_at < now - config["SESSION_IDLE_TIMEOUT"]),
        )


class Expiring:
    """A row worthless once its expires_at has passed; `flask cleanup` deletes it."""

    @hybrid_method
    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now


class PasswordResetToken(Expiring, db.Model):
    """A single-use reset link; deleted when used and whenever the password changes."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
