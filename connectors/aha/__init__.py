"""Aha! (product roadmaps): products, releases, features, requirements, epics, initiatives, ideas.

Products are discovered first and become the partitions; everything else is read per product.
See :mod:`connectors.aha.streams` for the table of streams.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.aha.classify import classify_aha
from connectors.aha.options import AhaOptions, AhaSecrets
from connectors.aha.streams import API, BUCKET, PACE, PARTITION_CHECK, STREAMS
from connectors.connector import CheckResult, Connector, ConnectorMeta
from connectors.errors import ConnectorError
from connectors.http.auth import BearerAuth
from connectors.http.client import HttpClient
from connectors.streams import Partition


def auth(secrets: AhaSecrets) -> httpx.Auth:
    return BearerAuth(secrets.token)


def partition_of(row: Mapping[str, Any], options: AhaOptions) -> Partition | None:
    """A product row (``project``) becomes a partition when its prefix matches ``products``."""
    prefix = row.get("key")
    if not prefix or not options.wants_product(str(prefix)):
        return None
    product_id = str(row["external_id"])
    return Partition(
        key=product_id,
        values={"product_id": product_id, "prefix": str(prefix), "external_id": product_id},
        names=tuple(str(x) for x in (prefix, row.get("name")) if x),
    )


async def check(http: HttpClient, options: AhaOptions) -> CheckResult:
    """Who the API key belongs to, and whether it can list products."""
    problems: list[str] = []
    identity = None
    try:
        me = await http.get_json(API + "/me", bucket=BUCKET, pace=PACE)
        user = me.get("user", me) if isinstance(me, dict) else {}
        identity = user.get("email") or user.get("name")
        found = await http.get_json(API + "/products", params={"per_page": 200}, bucket=BUCKET, pace=PACE)
    except ConnectorError as exc:
        return CheckResult(ok=False, identity=identity, problems=[str(exc)])
    prefixes = [p.get("reference_prefix") for p in found.get("products", []) if isinstance(p, dict)]
    wanted = [p for p in prefixes if p and options.wants_product(p)]
    if not wanted:
        problems.append(
            f"no product matches products={options.products!r}; the key sees: {', '.join(p for p in prefixes if p) or 'none'}"
        )
    return CheckResult(ok=not problems, identity=identity, problems=problems, details={"products": wanted})


CONNECTOR = Connector(
    partition_values=("product_id", "prefix", "external_id"),
    meta=ConnectorMeta(display_name="Aha!", scope_option="products", badge_color="#e8590c"),
    kind="aha",
    options_model=AhaOptions,
    secrets_model=AhaSecrets,
    auth=auth,
    streams=STREAMS,
    discovery_stream="products",
    partition_of=partition_of,
    partition_check=PARTITION_CHECK,
    headers={"Accept": "application/json"},
    classify=classify_aha,
    check=check,
    max_in_flight=4,
    sandbox="connectors.aha.sandbox:make_sandbox",
)

__all__ = ["CONNECTOR", "AhaOptions", "AhaSecrets"]
