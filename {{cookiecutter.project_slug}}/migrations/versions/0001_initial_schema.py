"""Initial schema.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=60), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
{%- if cookiecutter.use_admin %}
        sa.Column("is_admin", sa.Boolean(), nullable=False),
{%- endif %}
{%- if cookiecutter.use_otp %}
        timestamp("email_verified_at", nullable=True),
        sa.Column("otp_failed_attempts", sa.Integer(), nullable=False),
        timestamp("otp_locked_until", nullable=True),
{%- endif %}
        timestamp("created_at"),
        timestamp("last_login_at", nullable=True),
        timestamp("password_changed_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    # Case-insensitive uniqueness of e-mail addresses, enforced by the database.
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
{%- if cookiecutter.use_admin %}
    # The admin's users list and search, newest first, from the index alone.
    op.create_index("ix_users_created_at_id_email", "users", ["created_at", "id", "email"])
    # Partial indexes: the dashboard counts the few accounts they hold (models.py).
    users = sa.table(
        "users",
        sa.column("is_admin", sa.Boolean()),
        sa.column("is_active", sa.Boolean()),
{%- if cookiecutter.use_otp %}
        sa.column("email_verified_at", sa.DateTime(timezone=True)),
{%- endif %}
    )
    for name, condition in [
        ("ix_users_admins", users.c.is_admin == sa.true()),
        ("ix_users_deactivated", users.c.is_active == sa.false()),
{%- if cookiecutter.use_otp %}
        ("ix_users_unverified", users.c.email_verified_at.is_(None)),
{%- endif %}
    ]:
        op.create_index(name, "users", ["id"], sqlite_where=condition, postgresql_where=condition)
{%- endif %}
{%- if cookiecutter.database == "postgresql" and cookiecutter.use_admin %}
    if op.get_context().dialect.name == "postgresql":
        # The admin search's LIKE '%text%' uses this trigram index instead of reading
        # every row. The extension stays on downgrade: other schemas may use it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_users_email_trgm",
            "users",
            ["email"],
            postgresql_using="gin",
            postgresql_ops={"email": "gin_trgm_ops"},
        )
{%- endif %}

    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        timestamp("created_at"),
{%- if cookiecutter.use_admin %}
        timestamp("authenticated_at"),
{%- endif %}
        timestamp("last_seen_at"),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_sessions_token_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])

    op.create_table(
        "password_reset_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        timestamp("created_at"),
        timestamp("expires_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_reset_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_tokens_token_hash")),
    )
    op.create_index(op.f("ix_password_reset_tokens_user_id"), "password_reset_tokens", ["user_id"])
{%- if cookiecutter.use_otp %}

    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        timestamp("created_at"),
        timestamp("expires_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_one_time_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_codes")),
    )
    op.create_index(op.f("ix_one_time_codes_user_id"), "one_time_codes", ["user_id"])
{%- endif %}
{%- if cookiecutter.use_admin %}

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        timestamp("created_at"),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("subject_email", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_audit_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["users.id"],
            name=op.f("fk_audit_events_subject_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_created_at"), "audit_events", ["created_at"])
    op.create_index(op.f("ix_audit_events_actor_id"), "audit_events", ["actor_id"])
    op.create_index(op.f("ix_audit_events_subject_id"), "audit_events", ["subject_id"])
{%- endif %}


def downgrade():
{%- if cookiecutter.use_admin %}
    op.drop_table("audit_events")
{%- endif %}
{%- if cookiecutter.use_otp %}
    op.drop_table("one_time_codes")
{%- endif %}
    op.drop_table("password_reset_tokens")
    op.drop_table("user_sessions")
    op.drop_table("users")
