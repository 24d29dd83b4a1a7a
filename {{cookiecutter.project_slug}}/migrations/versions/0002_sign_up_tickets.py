"""Bind each e-mail code to the sign-up that asked for it.

A code row gets the hash of a ticket held by the signing-up browser's session and the
password chosen at that sign-up (verification/codes.py). Codes issued before this
revision had neither: they keep their rows, with a ticket no browser holds and the
account's current password, so they can no longer verify anything and expire as usual.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("one_time_codes") as batch_op:
        batch_op.add_column(sa.Column("ticket_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("password_hash", sa.String(length=60), nullable=True))
    # "legacy-<id>" is unique and never equals a SHA-256 hex digest of a real ticket.
    op.execute("UPDATE one_time_codes SET ticket_hash = 'legacy-' || CAST(id AS VARCHAR(20))")
    op.execute(
        "UPDATE one_time_codes SET password_hash = "
        "(SELECT users.password_hash FROM users WHERE users.id = one_time_codes.user_id)"
    )
    with op.batch_alter_table("one_time_codes") as batch_op:
        batch_op.alter_column("ticket_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("password_hash", existing_type=sa.String(length=60), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f("uq_one_time_codes_ticket_hash"), ["ticket_hash"]
        )


def downgrade():
    with op.batch_alter_table("one_time_codes") as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_one_time_codes_ticket_hash"), type_="unique")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("ticket_hash")
