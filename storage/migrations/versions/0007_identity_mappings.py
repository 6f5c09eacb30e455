"""explicit identity mappings (tenant configuration)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identity_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=512), nullable=False),
        sa.Column("to_email", sa.String(length=512), nullable=True),
        sa.Column("to_person_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_identity_mapping_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["to_person_id"], ["person.id"], name=op.f("fk_identity_mapping_to_person_id_person"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_mapping")),
        sa.UniqueConstraint("tenant_id", "kind", "account", name=op.f("uq_identity_mapping_tenant_id_kind_account")),
    )
    with op.batch_alter_table("identity_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_mapping_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_mapping", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_mapping_tenant_id"))
    op.drop_table("identity_mapping")
