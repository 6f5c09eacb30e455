"""Work linking: rows of one source that refer to Jira issues. Pure: rows in, links out.

* pull requests: keys in the title (``key_in_title``) and in the source branch (``key_in_branch``);
* branches: keys in the name (``key_in_branch``); commits: keys in the message (``key_in_message``);
* Slack messages: keys in the text (``mention``);
* Aha! records: their Jira integration fields (``aha_integration``: the linked issue's ``key``,
  or its ``id`` when no key is given).

Only issues the tenant's Jira sources hold are link targets, so a key of a project the tenant's
Jira does not have (or a look-alike such as ``UTF-8``) links nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from linking.keys import keys_in

TEXTS: dict[str, tuple[tuple[str, str], ...]] = {  # kind -> (column, how)
    "pull_request": (("title", "key_in_title"), ("source_branch", "key_in_branch")),
    "branch": (("name", "key_in_branch"),),
    "commit": (("message", "key_in_message"),),
    "message": (("text", "mention"),),
}


@dataclass(frozen=True)
class Issue:
    """A link target: a Jira work item."""

    source_id: int
    external_id: str
    key: str


@dataclass(frozen=True, order=True)
class Link:
    from_kind: str
    from_source_id: int
    from_external_id: str
    to_kind: str
    to_source_id: int
    to_external_id: str
    to_key: str | None
    how: str


@dataclass(frozen=True)
class Catalog:
    """The tenant's Jira issues by key and by id, and its Jira project keys."""

    by_key: Mapping[str, Issue]
    by_id: Mapping[str, Issue]
    projects: frozenset[str]

    @classmethod
    def of(cls, issues: Iterable[Issue], projects: Iterable[str]) -> Catalog:
        found = list(issues)
        return cls({i.key: i for i in found}, {i.external_id: i for i in found}, frozenset(projects))


def _link(kind: str, source_id: int, external_id: str, issue: Issue, how: str) -> Link:
    return Link(kind, source_id, external_id, "work_item", issue.source_id, issue.external_id, issue.key, how)


def text_links(kind: str, source_id: int, external_id: str, row: Mapping[str, Any], catalog: Catalog) -> list[Link]:
    """Links from the text columns of one row of ``kind`` (see ``TEXTS``)."""
    out: set[Link] = set()
    for column, how in TEXTS.get(kind, ()):
        for key in keys_in(row.get(column), catalog.projects):
            issue = catalog.by_key.get(key)
            if issue is not None:
                out.add(_link(kind, source_id, external_id, issue, how))
    return sorted(out)


def aha_links(source_id: int, external_id: str, integration_fields: Any, catalog: Catalog) -> list[Link]:
    """Links from an Aha! record's ``integration_fields`` (entries of service ``jira``)."""
    if not isinstance(integration_fields, list):
        return []
    by_integration: dict[Any, dict[str, str]] = {}
    for f in integration_fields:
        if isinstance(f, dict) and str(f.get("service_name", "")).lower() == "jira" and f.get("value") is not None:
            by_integration.setdefault(f.get("integration_id"), {})[str(f.get("name"))] = str(f["value"])
    out: set[Link] = set()
    for named in by_integration.values():
        issue = catalog.by_key.get(named["key"]) if "key" in named else catalog.by_id.get(named.get("id", ""))
        if issue is not None:
            out.add(_link("work_item", source_id, external_id, issue, "aha_integration"))
    return sorted(out)
