"""Storage: the shared schema, raw landing, cursors, upserts and migrations."""

from storage.engine import Database
from storage.migrate import is_current, upgrade
from storage.upsert import model_for, tombstone, upsert_rows

__all__ = ["Database", "is_current", "model_for", "tombstone", "upgrade", "upsert_rows"]
