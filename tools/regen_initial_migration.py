"""Regenerate the initial migration from the models (only while no release has shipped)."""

from __future__ import annotations

import re
import tempfile

from alembic import command

from storage import Database
from storage.migrate import MIGRATIONS_DIR, alembic_config

target = MIGRATIONS_DIR / "versions" / "0001_initial_shared_schema.py"
target.unlink(missing_ok=True)
with tempfile.TemporaryDirectory() as tmp:
    db = Database(f"sqlite:///{tmp}/gen.db")
    command.revision(alembic_config(db), message="initial shared schema", autogenerate=True, rev_id="0001")
text = target.read_text()
text = text.replace("astext_type=Text()", "astext_type=sa.Text()")
text = re.sub(r"Create Date: .*", "Create Date: 2026-11-26", text)
target.write_text(text)
print(f"wrote {target}")
