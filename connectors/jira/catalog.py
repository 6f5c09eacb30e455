"""What a Jira site calls things: custom field ids found BY NAME, and status categories.

Story points and sprints are custom fields whose ids differ per site (``customfield_10016`` on
one, ``customfield_10026`` on another), so they are looked up in ``GET /rest/api/3/field`` at the
start of every task that reads issues (``prepare`` hook) and kept in ``ctx.state``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.http.client import HttpClient
from connectors.jira.payloads import Field_, Status
from connectors.streams import StreamContext

STORY_POINT_NAMES = ("story points", "story point estimate", "story points estimate")
SPRINT_NAMES = ("sprint",)
SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint"
STORY_POINT_SCHEMAS = ("com.atlassian.jira.plugin.system.customfieldtypes:float",)

CATEGORY = {"new": "todo", "indeterminate": "in_progress", "done": "done"}

# The system fields every issue read asks for (search/jql returns only ids unless told).
ISSUE_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "priority",
    "project",
    "assignee",
    "reporter",
    "creator",
    "parent",
    "labels",
    "fixVersions",
    "components",
    "created",
    "updated",
    "resolutiondate",
    "resolution",
    "timespent",
    "comment",
    "worklog",
)


@dataclass(frozen=True)
class Catalog:
    story_points: tuple[str, ...] = ()
    sprint: tuple[str, ...] = ()
    status_category: Mapping[str, str] = field(default_factory=dict)  # status id or lower name -> key

    def issue_fields(self) -> list[str]:
        return [*ISSUE_FIELDS, *self.story_points, *self.sprint]

    def category_of(self, status: Status | None) -> str | None:
        if status is None:
            return None
        key = status.status_category.key if status.status_category else None
        if key is None and status.id:
            key = self.status_category.get(status.id)
        if key is None and status.name:
            key = self.status_category.get(status.name.lower())
        return CATEGORY.get(key) if key else None


def find_fields(fields: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(story point field ids, sprint field ids), matched by display name (then by schema type)."""
    points: list[str] = []
    sprint: list[str] = []
    for raw in fields:
        f = Field_.model_validate(raw)
        name = (f.name or "").strip().lower()
        custom_type = str((f.schema_ or {}).get("custom") or "")
        if name in STORY_POINT_NAMES:
            points.append(f.id)
        if name in SPRINT_NAMES or custom_type == SPRINT_SCHEMA:
            sprint.append(f.id)
    return tuple(dict.fromkeys(points)), tuple(dict.fromkeys(sprint))


def status_categories(statuses: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in statuses:
        s = Status.model_validate(raw)
        key = s.status_category.key if s.status_category else None
        if not key:
            continue
        if s.id:
            out[s.id] = key
        if s.name:
            out.setdefault(s.name.lower(), key)
    return out


async def load_catalog(ctx: StreamContext, http: HttpClient) -> None:
    """``prepare`` hook: read the site's fields and statuses once per task into ``ctx.state``."""
    if "catalog" in ctx.state:
        return
    fields = await http.get_json("rest/api/3/field", what="GET /rest/api/3/field (custom field ids)")
    statuses = await http.get_json("rest/api/3/status", what="GET /rest/api/3/status (status categories)")
    points, sprint = find_fields(f for f in fields if isinstance(f, Mapping)) if isinstance(fields, list) else ((), ())
    cats = status_categories(s for s in statuses if isinstance(s, Mapping)) if isinstance(statuses, list) else {}
    ctx.state["catalog"] = Catalog(story_points=points, sprint=sprint, status_category=cats)


def catalog_of(ctx: StreamContext) -> Catalog:
    found = ctx.state.get("catalog")
    return found if isinstance(found, Catalog) else Catalog()
