"""Pydantic models of the Jira payloads Headwater reads (REST v3 and the agile API).

Every model ignores fields it does not name, and names only what normalization needs, so
new or missing provider fields never break a load. Older (v2, Server) shapes are accepted too:
users may carry ``name``/``key`` instead of ``accountId``, bodies may be plain strings instead of
Atlassian Document Format.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# An issue's system fields whose value is an object (or null); anything else there is replaced by null.
_OBJECTS = ("status", "issuetype", "priority", "project", "assignee", "reporter", "creator", "parent", "resolution")


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class User(Payload):
    account_id: str | None = Field(None, alias="accountId")
    name: str | None = None  # Server / v2
    key: str | None = None
    display_name: str | None = Field(None, alias="displayName")
    email: str | None = Field(None, alias="emailAddress")
    active: bool | None = None
    account_type: str | None = Field(None, alias="accountType")

    @property
    def external_id(self) -> str | None:
        return self.account_id or self.key or self.name


class StatusCategory(Payload):
    id: int | None = None
    key: str | None = None
    name: str | None = None


class Status(Payload):
    id: str | None = None
    name: str | None = None
    status_category: StatusCategory | None = Field(None, alias="statusCategory")


class Named(Payload):
    id: str | None = None
    name: str | None = None


class ProjectRef(Payload):
    id: str | None = None
    key: str | None = None
    name: str | None = None


class Project(Payload):
    id: str
    key: str
    name: str | None = None
    project_type_key: str | None = Field(None, alias="projectTypeKey")
    style: str | None = None
    simplified: bool | None = None
    archived: bool | None = None


class ParentRef(Payload):
    id: str | None = None
    key: str | None = None


class VersionRef(Payload):
    id: str | None = None
    name: str | None = None


class Version(Payload):
    id: str
    name: str
    project_id: int | str | None = Field(None, alias="projectId")
    released: bool | None = None
    archived: bool | None = None
    release_date: str | None = Field(None, alias="releaseDate")
    start_date: str | None = Field(None, alias="startDate")
    description: str | None = None


class ChangeItem(Payload):
    field: str | None = None
    field_id: str | None = Field(None, alias="fieldId")
    fieldtype: str | None = None
    from_: str | None = Field(None, alias="from")
    from_string: str | None = Field(None, alias="fromString")
    to: str | None = None
    to_string: str | None = Field(None, alias="toString")


class History(Payload):
    id: str
    author: User | None = None
    created: str | None = None
    items: list[ChangeItem] = Field(default_factory=list)


class Page(Payload):
    start_at: int | None = Field(None, alias="startAt")
    max_results: int | None = Field(None, alias="maxResults")
    total: int | None = None


class EmbeddedChangelog(Page):
    histories: list[History] = Field(default_factory=list)


class Comment(Payload):
    id: str
    author: User | None = None
    update_author: User | None = Field(None, alias="updateAuthor")
    body: Any = None  # ADF document (v3) or a string (v2)
    created: str | None = None
    updated: str | None = None
    jsd_public: bool | None = Field(None, alias="jsdPublic")


class EmbeddedComments(Page):
    comments: list[Comment] = Field(default_factory=list)


class Worklog(Payload):
    id: str | None = None
    time_spent_seconds: int | None = Field(None, alias="timeSpentSeconds")


class EmbeddedWorklogs(Page):
    worklogs: list[Worklog] = Field(default_factory=list)


class IssueFields(Payload):
    model_config = ConfigDict(extra="allow", populate_by_name=True)  # custom fields are read by id

    summary: str | None = None
    status: Status | None = None
    issuetype: Named | None = None
    priority: Named | None = None
    project: ProjectRef | None = None
    assignee: User | None = None
    reporter: User | None = None
    creator: User | None = None
    parent: ParentRef | None = None
    labels: list[str] = Field(default_factory=list)
    fix_versions: list[VersionRef] = Field(default_factory=list, alias="fixVersions")
    components: list[Named] = Field(default_factory=list)
    created: str | None = None
    updated: str | None = None
    resolutiondate: str | None = None
    resolution: Named | None = None
    timespent: int | None = None
    comment: EmbeddedComments | None = None
    worklog: EmbeddedWorklogs | None = None

    @model_validator(mode="before")
    @classmethod
    def _tolerate_shapes(cls, data: Any) -> Any:
        """Older and documented-example shapes: comment/worklog as bare lists, odd timestamps."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, key in (("comment", "comments"), ("worklog", "worklogs")):
            if isinstance(data.get(name), list):
                data[name] = {key: data[name], "total": len(data[name])}
            elif data.get(name) is not None and not isinstance(data.get(name), dict):
                data[name] = None
        for name in ("created", "updated", "resolutiondate", "summary"):
            if data.get(name) is not None and not isinstance(data[name], str):
                data[name] = None
        for name in ("labels", "fixVersions", "components"):
            if data.get(name) is not None and not isinstance(data[name], list):
                data[name] = []
        for name in _OBJECTS:
            if data.get(name) is not None and not isinstance(data[name], dict):
                data[name] = None
        if data.get("timespent") is not None and not isinstance(data["timespent"], int):
            data["timespent"] = None
        return data

    def custom(self, field_id: str) -> Any:
        return (self.model_extra or {}).get(field_id)


class Issue(Payload):
    id: str | None = None
    key: str | None = None
    fields: IssueFields = Field(default_factory=IssueFields)
    changelog: EmbeddedChangelog | None = None

    @property
    def external_id(self) -> str | None:
        return self.id or self.key


class Sprint(Payload):
    id: int | str
    name: str
    state: str | None = None
    start_date: str | None = Field(None, alias="startDate")
    end_date: str | None = Field(None, alias="endDate")
    complete_date: str | None = Field(None, alias="completeDate")
    created_date: str | None = Field(None, alias="createdDate")
    origin_board_id: int | str | None = Field(None, alias="originBoardId")
    board_id: int | str | None = Field(None, alias="boardId")  # in the issue's sprint field
    goal: str | None = None


class Board(Payload):
    id: int | str
    name: str | None = None
    type: str | None = None


class Field_(Payload):
    id: str
    name: str | None = None
    custom: bool | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
