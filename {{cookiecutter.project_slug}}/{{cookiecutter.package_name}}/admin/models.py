"""What the admin panel adds to the database: the audit log and the indexes its pages read."""

from datetime import datetime

{% if cookiecutter.database == "postgresql" -%}
from sqlalchemy import DDL, ForeignKey, Index, String, event, false, true
{%- else -%}
from sqlalchemy import ForeignKey, Index, String, false, true
{%- endif %}
from sqlalchemy.orm import Mapped, mapped_column

from ..database import UTCDateTime, utcnow
from ..extensions import db
from ..models import User


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


# The users list, newest first. The address is in the index too, so a search reads
# this index alone, never the table, and stops after one page of matches.
Index("ix_users_created_at_id_email", User.created_at, User.id, User.email)

# The dashboard counts the few exceptional accounts through these small partial indexes
# instead of reading every row. A database uses such an index only for a query with the
# very same condition: routes.py counts with these names.
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
    Index(name, User.id, sqlite_where=condition, postgresql_where=condition)
{%- if cookiecutter.database == "postgresql" %}

# The search (email LIKE '%text%', on lower-cased addresses) reads every row unless a
# trigram index (pg_trgm) finds the matches. PostgreSQL only: create_all skips it on
# other databases (ddl_if), and so does `flask db check` (info, migrations/env.py).
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
