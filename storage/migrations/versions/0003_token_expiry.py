"""API tokens expire and record their last use; sources record when credentials changed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.add_column(sa.Column("expires_at", storage.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", storage.models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("source") as batch_op:
        batch_op.add_column(
            sa.Column("credentials_updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("source") as batch_op:
        batch_op.drop_column("credentials_updated_at")
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
