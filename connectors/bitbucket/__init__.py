"""Bitbucket Cloud: one workspace per source, fanned out per repository."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.bitbucket.check import check
from connectors.bitbucket.classify import classify_bitbucket
from connectors.bitbucket.options import HEADERS, BitbucketOptions, BitbucketSecrets, auth_for
from connectors.bitbucket.streams import PARTITION_CHECK, STREAMS
from connectors.connector import Connector, ConnectorMeta
from connectors.streams import Partition


def partition_of(row: Mapping[str, Any], options: Any) -> Partition | None:
    """A repository row -> its partition (key ``workspace/slug``; globs may also match slug or name)."""
    full_name = str(row["full_name"])
    slug = full_name.rsplit("/", 1)[-1]
    names = tuple(dict.fromkeys(x for x in (slug, row.get("name")) if x))
    return Partition(
        key=full_name,
        values={"full_name": full_name, "repo_slug": slug, "external_id": str(row["external_id"])},
        names=names,
    )


CONNECTOR = Connector(
    partition_values=("full_name", "repo_slug", "external_id"),
    meta=ConnectorMeta(display_name="Bitbucket", scope_option="workspace", badge_color="#0052cc"),
    kind="bitbucket",
    options_model=BitbucketOptions,
    secrets_model=BitbucketSecrets,
    auth=auth_for,
    streams=STREAMS,
    discovery_stream="repositories",
    partition_of=partition_of,
    partition_check=PARTITION_CHECK,
    headers=HEADERS,
    classify=classify_bitbucket,
    check=check,
    sandbox="connectors.bitbucket.sandbox:make_sandbox",
)

__all__ = ["CONNECTOR", "BitbucketOptions", "BitbucketSecrets", "partition_of"]
