"""Jira Cloud: one site per source, fanned out per project (``projects`` option: keys or globs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.connector import Connector, ConnectorMeta
from connectors.jira.check import check
from connectors.jira.classify import classify_jira
from connectors.jira.options import HEADERS, JiraOptions, JiraSecrets, auth_for
from connectors.jira.streams import PARTITION_CHECK, STREAMS
from connectors.streams import Partition


def partition_of(row: Mapping[str, Any], options: Any) -> Partition | None:
    """A project row -> its partition (key = project key), when ``projects`` asks for it."""
    key = str(row.get("key") or "")
    if not key or (isinstance(options, JiraOptions) and not options.wants_project(key)):
        return None
    names = (str(row["name"]),) if row.get("name") else ()
    return Partition(key=key, values={"project_key": key, "external_id": str(row["external_id"])}, names=names)


CONNECTOR = Connector(
    partition_values=("project_key", "external_id"),
    meta=ConnectorMeta(display_name="Jira", scope_option="projects", badge_color="#2684ff"),
    kind="jira",
    options_model=JiraOptions,
    secrets_model=JiraSecrets,
    auth=auth_for,
    streams=STREAMS,
    discovery_stream="projects",
    partition_of=partition_of,
    partition_check=PARTITION_CHECK,
    headers=HEADERS,
    classify=classify_jira,
    check=check,
    sandbox="connectors.jira.sandbox:make_sandbox",
)

__all__ = ["CONNECTOR", "JiraOptions", "JiraSecrets", "partition_of"]
