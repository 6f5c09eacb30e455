"""The recorded provider responses (../shared/recorded/PROVIDER, read in place, never copied) for
the contract tests of every provider: the index walked once, parameters that still say why when
the recordings are absent, and one database the normalized rows are loaded into.

Every test over recordings calls :func:`tests.conftest.require_recordings` first: without the
recordings it skips with a reason that says so, and fails under HEADWATER_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from connectors.streams import Row
from storage import Database, upgrade, upsert_rows
from tenancy import Vault, add_source, add_tenant
from tests.conftest import RECORDED


def recorded(provider: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every ``(index entry, recording)`` of ``provider``; none when the recordings are absent."""
    folder = RECORDED / provider
    index = folder / "index.json"
    if not index.is_file():
        return []
    return [(entry, json.loads((folder / entry["file"]).read_text())) for entry in json.loads(index.read_text())]


def index_of(provider: str) -> list[dict[str, Any]]:
    return [entry for entry, _ in recorded(provider)]


def recorded_params(provider: str, cases: Sequence[tuple[Any, ...]], ids: Sequence[str], width: int) -> list[Any]:
    """``pytest.mark.parametrize`` values over recordings. When none are recorded, one case of
    ``None`` named ``recordings-absent``: the test runs, and its ``require_recordings`` says why
    (an empty parameter set would only skip, silently, in CI too)."""
    if not (RECORDED / provider / "index.json").is_file():
        return [pytest.param(*([None] * width), id=f"{provider}-recordings-absent")]
    return [pytest.param(*case, id=name) for case, name in zip(cases, ids, strict=True)]


@dataclass(frozen=True)
class Target:
    """A database with one source of ``kind``: where the contract tests load what they normalize."""

    db: Database
    tenant_id: int
    source_id: int

    def load(self, rows: list[Row]) -> None:
        """Upsert the rows; every column a normalizer emits must exist in the shared schema."""
        by_entity: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            data = {**row.data, "tenant_id": self.tenant_id, "source_id": self.source_id}
            by_entity.setdefault(row.entity, []).append(data)
        with self.db.session() as s:
            for entity, data in by_entity.items():
                assert upsert_rows(s, entity, data) == len({d["external_id"] for d in data})


def contract_target(folder: Path, kind: str, options: dict[str, Any], secrets: dict[str, Any]) -> Iterator[Target]:
    """A fixture body: a SQLite database in ``folder`` with a tenant and one ``kind`` source."""
    db = Database(f"sqlite:///{folder}/contract.db")
    upgrade(db)
    vault = Vault(SecretStr(Fernet.generate_key().decode()))
    with db.session() as s:
        source = add_source(s, vault, add_tenant(s, "contract"), kind, options, secrets)
        target = Target(db, source.tenant_id, source.id)
    yield target
    db.dispose()
