"""Alembic migrations, applied programmatically (``headwater db upgrade``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from storage.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported when a migration runs or is checked, not by every command importing storage.

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: Database, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def head_revision() -> str:
    """The newest migration's revision, from the file names alone (no Alembic import: every
    command checks it). Each migration's revision is its file name's number, as
    tests/storage/test_migrations_head.py checks against Alembic's own graph."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def is_current(db: Database) -> bool:
    """True when the schema is at the newest migration (cheap check for auto-upgrade)."""
    if "alembic_version" not in inspect(db.engine).get_table_names():
        return False
    with db.engine.connect() as conn:
        return list(conn.execute(text("select version_num from alembic_version")).scalars()) == [head_revision()]
