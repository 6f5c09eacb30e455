"""Contract: every recorded 200 body of an Aha! endpoint the connector reads normalizes cleanly.

List endpoints are normalized record by record with the stream's normalizer; detail bodies
(``GET /features/:id`` …) are the full shape that ``fields=`` yields on lists, so they are
normalized too. A failure here is what the runner would quarantine as DATA.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest

from connectors.aha import normalize as n
from connectors.aha.options import AhaOptions
from connectors.runner import normalize_records
from connectors.streams import Partition, Row, StreamContext, StreamSpec
from tests.conftest import require_recordings
from tests.connectors.recordings import index_of, recorded, recorded_params

Normalizer = Callable[[Mapping[str, Any], StreamContext], Iterable[Row]]

# endpoint (as in index.json) -> (key of the records, normalizer)
READ: dict[str, tuple[str, Normalizer]] = {
    "/products": ("products", n.products),
    "/users": ("users", n.account_users),
    "/products/:product_id/users": ("project_users", n.product_users),
    "/products/:product_id/releases": ("releases", n.releases),
    "/products/:product_id/features": ("features", n.features),
    "/features/:feature_id/requirements": ("requirements", n.requirements),
    "/products/:product_id/epics": ("epics", n.epics),
    "/products/:product_id/initiatives": ("initiatives", n.initiatives),
    "/products/:product_id/ideas": ("ideas", n.ideas),
    "/products/:project_id/comments": ("comments", n.comments),
    # full shapes (what ``fields=`` returns on lists)
    "/features/:id": ("feature", n.features),
    "/epics/:id": ("epic", n.epics),
    "/initiatives/:id": ("initiative", n.initiatives),
    "/ideas/:id": ("idea", n.ideas),
    "/releases/:id": ("release", n.releases),
    "/requirements/:id": ("requirement", n.requirements),
    "/users/:id": ("user", n.account_users),
    "/comments/:id": ("comment", n.comments),
}


def recordings() -> list[tuple[str, dict[str, Any]]]:
    return [(e["file"], rec) for e, rec in recorded("aha") if e["endpoint"] in READ and e["status"] == 200]


RECORDINGS = recordings()


def ctx() -> StreamContext:
    part = Partition(key="131414752", values={"product_id": "131414752", "prefix": "PRJ1", "external_id": "131414752"})
    return StreamContext(
        tenant_id=1,
        source_id=1,
        options=AhaOptions(base_url="https://company.aha.io"),
        partition=part,
        parent={"external_id": "1007868956", "project_external_id": "131414752", "key": "PRJ1-1"},
    )


def test_every_read_endpoint_has_a_recording() -> None:
    require_recordings("aha")
    assert set(READ) <= {e["endpoint"] for e in index_of("aha")}


@pytest.mark.parametrize(("name", "recording"), recorded_params("aha", RECORDINGS, [r[0] for r in RECORDINGS], 2))
def test_recorded_body_normalizes_without_data_errors(name: str, recording: dict[str, Any]) -> None:
    require_recordings("aha")
    endpoint = next(e for e in READ if name.startswith(endpoint_slug(e)))
    key, normalizer = READ[endpoint]
    records = recording["body"][key]
    records = records if isinstance(records, list) else [records]
    spec = StreamSpec(name=endpoint, path="-", normalize=normalizer)
    rows, bad = normalize_records(spec, records, ctx())
    assert bad == [], [q.reason for q in bad]
    assert len(rows) == len(records) > 0 or key == "project_users"
    for row in rows:
        assert row.data["external_id"], row
        assert all(isinstance(v, str) for k, v in row.data.items() if k.endswith("_external_id") and v is not None)


def endpoint_slug(endpoint: str) -> str:
    # index.json file names: "/products/:product_id/features" -> "products-product-id-features--"
    slug = endpoint.strip("/").replace("/:", "-").replace("/", "-").replace("_", "-")
    return slug + "--"
