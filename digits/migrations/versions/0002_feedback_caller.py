"""Who gave each answer, so one visitor's answers can be capped and counted once: a keyed hash of
what the Uplink told of the caller (never the address or session id itself).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feedback") as table:  # SQLite alters tables by copying them
        table.add_column(sa.Column("caller", sa.String(64), nullable=True))  # NULL: saved before this revision
    op.create_index("feedback_caller_time", "feedback", ["caller", "created_at"])


def downgrade() -> None:
    op.drop_index("feedback_caller_time", "feedback")
    with op.batch_alter_table("feedback") as table:
        table.drop_column("caller")
