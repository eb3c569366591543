"""The feedback table: one row per result a person confirmed or corrected.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("result_key", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(32), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("predicted", sa.SmallInteger, nullable=True),
        sa.Column("probabilities", sa.JSON, nullable=True),
        sa.Column("digit", sa.SmallInteger, nullable=False),
        sa.Column("pixels", sa.LargeBinary, nullable=False),
    )
    op.create_index("feedback_model", "feedback", ["model"])


def downgrade() -> None:
    op.drop_index("feedback_model", "feedback")
    op.drop_table("feedback")
