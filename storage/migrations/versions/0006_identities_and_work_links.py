"""identities, work links, manual decisions and watermarks of the derived task

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import storage.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "derived_watermark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "value", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_derived_watermark_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_derived_watermark")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_derived_watermark_tenant_id_name")),
    )
    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=512), nullable=True),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_identity_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
    )
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "work_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("from_kind", sa.String(length=32), nullable=False),
        sa.Column("from_source_id", sa.Integer(), nullable=False),
        sa.Column("from_external_id", sa.String(length=512), nullable=False),
        sa.Column("to_kind", sa.String(length=32), nullable=False),
        sa.Column("to_source_id", sa.Integer(), nullable=False),
        sa.Column("to_external_id", sa.String(length=512), nullable=False),
        sa.Column("to_key", sa.String(length=255), nullable=True),
        sa.Column("how", sa.String(length=32), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_source_id"], ["source.id"], name=op.f("fk_work_link_from_source_id_source"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_work_link_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["to_source_id"], ["source.id"], name=op.f("fk_work_link_to_source_id_source"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_link")),
        sa.UniqueConstraint(
            "tenant_id",
            "from_kind",
            "from_source_id",
            "from_external_id",
            "to_kind",
            "to_source_id",
            "to_external_id",
            "how",
            name="uq_work_link_key",
        ),
    )
    with op.batch_alter_table("work_link", schema=None) as batch_op:
        batch_op.create_index(
            "ix_work_link_tenant_id_from",
            ["tenant_id", "from_kind", "from_source_id", "from_external_id"],
            unique=False,
        )

    op.create_table(
        "identity_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=False),
        sa.Column("decided_by_person", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identity.id"], name=op.f("fk_identity_account_identity_id_identity"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_identity_account_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_identity_account_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_account")),
        sa.UniqueConstraint("person_id", name=op.f("uq_identity_account_person_id")),
    )
    with op.batch_alter_table("identity_account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_account_identity_id"), ["identity_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_identity_account_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "identity_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("other_person_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", storage.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_person_id"],
            ["person.id"],
            name=op.f("fk_identity_decision_other_person_id_person"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_identity_decision_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenant.id"], name=op.f("fk_identity_decision_tenant_id_tenant"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_decision")),
    )
    with op.batch_alter_table("identity_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_decision_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("identity_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_decision_tenant_id"))

    op.drop_table("identity_decision")
    with op.batch_alter_table("identity_account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_account_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_identity_account_identity_id"))

    op.drop_table("identity_account")
    with op.batch_alter_table("work_link", schema=None) as batch_op:
        batch_op.drop_index("ix_work_link_tenant_id_from")

    op.drop_table("work_link")
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_tenant_id"))

    op.drop_table("identity")
    op.drop_table("derived_watermark")
