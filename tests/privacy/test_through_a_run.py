"""The privacy options through a whole run of the pipeline (driver, tasks, derived identities and
links, kept log lines, run history): one tenant with four sources, every option on, and none of
the planted values anywhere in the database afterwards. Slack is left out here only for time
(its rate tiers pace a real run to ~17 s); the other privacy tests cover it on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from headwater.app import App, worker_config
from pipelines import Driver, SerialRunner, request_run, run_document
from storage.models import RawPage, TaskRun
from storage.models.base import Base
from tenancy import add_source, add_tenant
from tests.pipelines.conftest import make_app
from tests.privacy.conftest import Planted
from tests.privacy.support import ON, PROVIDERS, Served, leaks

KINDS = ["aha", "bitbucket", "github", "jira"]


@pytest.fixture
def world() -> Iterator[dict[str, Served]]:
    served = {k: Served(PROVIDERS[k]) for k in KINDS}
    yield served
    for s in served.values():
        s.stop()


def test_a_run_of_private_sources_stores_no_planted_value_in_any_table(
    tmp_path: Path, world: dict[str, Served], planted_values: Planted
) -> None:
    app: App = make_app(tmp_path / "home")
    with app.db.session() as s:
        tenant = add_tenant(s, "acme")
        for kind, served in world.items():
            add_source(s, app.vault, tenant, kind, served.options(**ON), served.secrets())
    run, _ = request_run(app.db, tenant)
    Driver(app.db, app.vault, SerialRunner(worker_config(app))).execute(run.id)
    with app.db.read() as s:
        doc = run_document(s, run.id)
        assert doc is not None
        ingest = [t for t in doc["tasks"] if t["source_id"] is not None]
        assert ingest and all(t["state"] == "COMPLETED" for t in ingest), [
            (t["stream"], t["message"]) for t in ingest if t["state"] != "COMPLETED"
        ]
        assert s.execute(select(func.count()).select_from(RawPage)).scalar_one() > 0
        assert s.execute(select(func.count()).select_from(TaskRun)).scalar_one() == len(doc["tasks"])
    values = set().union(*(planted_values(k) for k in KINDS))
    with app.db.read() as s:  # the derived identities were built (from hashed accounts), and scanned too
        assert s.execute(select(func.count()).select_from(Base.metadata.tables["identity"])).scalar_one() > 0
    assert leaks(app.db, values) == {}
