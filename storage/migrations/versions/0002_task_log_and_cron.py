"""task log lines kept with the run; cron schedules of tenants

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("task_run_id", sa.Integer(), nullable=False),
        sa.Column("at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("logger", sa.String(length=255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_task_log_run_id_run"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["task_run_id"], ["task_run.id"], name=op.f("fk_task_log_task_run_id_task_run"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_log")),
    )
    op.create_index("ix_task_log_run_id_task_run_id", "task_log", ["run_id", "task_run_id"])
    with op.batch_alter_table("tenant") as batch_op:
        batch_op.add_column(sa.Column("refresh_cron", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenant") as batch_op:
        batch_op.drop_column("refresh_cron")
    op.drop_index("ix_task_log_run_id_task_run_id", table_name="task_log")
    op.drop_table("task_log")
