"""GitHub (github.com and GitHub Enterprise Server): one organization per source, fanned out per repository."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.connector import Connector, ConnectorMeta
from connectors.github.check import check
from connectors.github.classify import classify_github
from connectors.github.graphql import DERIVED
from connectors.github.options import HEADERS, GitHubOptions, GitHubSecrets, auth_for
from connectors.github.streams import PARTITION_CHECK, STREAMS
from connectors.streams import Partition


def partition_of(row: Mapping[str, Any], options: Any) -> Partition | None:
    """A repository row -> its partition (key ``org/repo``); archived ones only when asked for."""
    if row.get("archived") and not getattr(options, "include_archived", False):
        return None
    full_name = str(row["full_name"])
    owner, _, name = full_name.partition("/")
    return Partition(
        key=full_name,
        values={"owner": owner, "repo": name, "external_id": str(row["external_id"]), "full_name": full_name},
        names=(name,),
    )


CONNECTOR = Connector(
    partition_values=("owner", "repo", "external_id", "full_name"),
    meta=ConnectorMeta(display_name="GitHub", scope_option="org", badge_color="#24292f"),
    kind="github",
    options_model=GitHubOptions,
    secrets_model=GitHubSecrets,
    auth=auth_for,
    streams=STREAMS,
    discovery_stream="repositories",
    partition_of=partition_of,
    partition_check=PARTITION_CHECK,
    headers=HEADERS,
    classify=classify_github,
    check=check,
    derived=DERIVED,
    sandbox="connectors.github.sandbox:make_sandbox",
)

__all__ = ["CONNECTOR", "GitHubOptions", "GitHubSecrets", "partition_of"]
