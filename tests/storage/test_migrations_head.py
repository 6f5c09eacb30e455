"""``is_current`` reads the newest revision from the migration file names (no Alembic import on
every command): that holds only while each migration's revision is its file name's number."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from storage import Database, is_current, upgrade
from storage.migrate import MIGRATIONS_DIR, alembic_config, downgrade, head_revision


def test_the_head_from_file_names_is_alembics_head(sqlite_db: Database) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(sqlite_db))
    assert scripts.get_heads() == [head_revision()]
    for script in scripts.walk_revisions():
        assert script.path is not None and script.path.startswith(str(MIGRATIONS_DIR))
        assert script.path.rsplit("/", 1)[-1].split("_", 1)[0] == script.revision


def test_is_current_follows_the_schema(sqlite_db: Database) -> None:
    assert is_current(sqlite_db)
    downgrade(sqlite_db, "-1")
    assert not is_current(sqlite_db)
    upgrade(sqlite_db)
    assert is_current(sqlite_db)
