"""The database models."""

from datetime import datetime

from flask_login import UserMixin
{%- if cookiecutter.database == "postgresql" and cookiecutter.use_admin %}
from sqlalchemy import DDL, ForeignKey, Index, String, event, false, func, true
{%- elif cookiecutter.use_admin %}
from sqlalchemy import ForeignKey, Index, String, false, func, true
{%- else %}
from sqlalchemy import ForeignKey, Index, String, func
{%- endif %}
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
{%- if cookiecutter.use_admin %}

# The admin's users list, newest first. The address is in the index too, so a search
# reads this index alone, never the table, and stops after one page of matches.
Index("ix_users_created_at_id_email", User.created_at, User.id, User.email)

# The dashboard counts the few admins{% if cookiecutter.use_otp %}, deactivated and unverified accounts{% else %} and deactivated accounts{% endif %} through these
# small partial indexes instead of reading every row. A database uses such an index
# only for a query with the very same condition: admin/routes.py uses these names.
ADMINS = User.is_admin == true()
DEACTIVATED = User.is_active == false()
{%- if cookiecutter.use_otp %}
UNVERIFIED = User.email_verified_at.is_(None)
{%- endif %}
for name, condition in [
    ("ix_users_admins", ADMINS),
    ("ix_users_deactivated", DEACTIVATED),
{%- if cookiecutter.use_otp %}
    ("ix_users_unverified", UNVERIFIED),
{%- endif %}
]:
{%- if cookiecutter.database == "postgresql" %}
    Index(name, User.id, sqlite_where=condition, postgresql_where=condition)
{%- else %}
    Index(name, User.id, sqlite_where=condition)
{%- endif %}
{%- endif %}
{%- if cookiecutter.database == "postgresql" and cookiecutter.use_admin %}

# The admin search (email LIKE '%text%', on lower-cased addresses) reads every row
# unless a trigram index (pg_trgm) finds the matches. PostgreSQL only: create_all skips
# it on other databases (ddl_if), and so does `flask db check` (info, migrations/env.py).
event.listen(
    User.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)
Index(
    "ix_users_email_trgm",
    User.email,
    postgresql_using="gin",
    postgresql_ops={"email": "gin_trgm_ops"},
    info={"dialect": "postgresql"},
).ddl_if(dialect="postgresql")
{%- endif %}


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


class PasswordResetToken(db.Model):
    """A single-use reset link; deleted when used and whenever the password changes."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
{%- if cookiecutter.use_otp %}


class OneTimeCode(db.Model):
    """One sign-up waiting for its 6-digit e-mail code (auth/otp.py).

    Bound to the browser that signed up (the session holds the ticket; only its hash is
    stored) and carrying the password chosen at that sign-up: whoever enters the code
    gets exactly the password they chose, never one set by somebody else.
    """

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(32))
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
{%- endif %}
{%- if cookiecutter.use_admin %}


class AuditEvent(db.Model):
    """An admin action. E-mails are kept as text so entries outlive deleted users."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str] = mapped_column(String(254))
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    subject_email: Mapped[str | None] = mapped_column(String(254))
{%- endif %}
