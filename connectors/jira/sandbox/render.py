"""Jira JSON shapes of the sandbox's objects (REST v3 and agile 1.0), as Jira Cloud sends them."""

from __future__ import annotations

from typing import Any

from connectors.jira.sandbox.world import (
    EMBED_LIMIT,
    SPRINT_FIELD,
    STATUSES,
    STORY_POINTS_FIELD,
    TYPES,
    ZONE_NAME,
    Comment,
    History,
    Issue,
    Project,
    Sprint,
    User,
    Version,
    Worklog,
    World,
    jira_time,
)

ALL_FIELDS = (
    "summary", "status", "issuetype", "priority", "project", "assignee", "reporter", "creator", "parent",
    "labels", "fixVersions", "components", "created", "updated", "resolutiondate", "resolution", "timespent",
    "comment", "worklog", STORY_POINTS_FIELD, SPRINT_FIELD,
)  # fmt: skip
CATEGORIES = {
    "new": (2, "blue-gray", "To Do"),
    "indeterminate": (4, "yellow", "In Progress"),
    "done": (3, "green", "Done"),
}


def adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def user(base: str, u: User | None) -> dict[str, Any] | None:
    if u is None:
        return None
    out: dict[str, Any] = {
        "self": f"{base}/rest/api/3/user?accountId={u.account_id}",
        "accountId": u.account_id,
        "displayName": u.name,
        "active": u.active,
        "timeZone": ZONE_NAME,
        "accountType": u.account_type,
        "avatarUrls": {"48x48": f"https://avatar.example/{u.account_id[:8]}.png"},
    }
    if u.email:
        out["emailAddress"] = u.email
    return out


def status(base: str, status_id: str) -> dict[str, Any]:
    sid, name, _, cat, _ = next(s for s in STATUSES if s[0] == status_id)
    cid, color, cname = CATEGORIES[cat]
    return {
        "self": f"{base}/rest/api/3/status/{sid}",
        "description": "",
        "name": name,
        "id": sid,
        "statusCategory": {"self": f"{base}/rest/api/3/statuscategory/{cid}", "id": cid, "key": cat,
                           "colorName": color, "name": cname},
    }  # fmt: skip


def project(base: str, p: Project) -> dict[str, Any]:
    return {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{base}/rest/api/3/project/{p.id}",
        "id": p.id,
        "key": p.key,
        "name": p.name,
        "avatarUrls": {"48x48": f"{base}/rest/api/3/universal_avatar/view/type/project/avatar/10400"},
        "projectTypeKey": "software",
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }


def version(base: str, v: Version) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{base}/rest/api/3/version/{v.id}",
        "id": v.id,
        "name": v.name,
        "archived": False,
        "released": v.released,
        "projectId": int(v.project_id),
    }
    if v.release_date:
        out["releaseDate"] = v.release_date
    return out


def sprint(base: str, s: Sprint, *, in_issue: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": s.id, "name": s.name, "state": s.state}
    if in_issue:
        out["boardId"] = s.board_id
    else:
        out["self"] = f"{base}/rest/agile/1.0/sprint/{s.id}"
        out["originBoardId"] = s.board_id
    for key, at in (("startDate", s.start), ("endDate", s.end), ("completeDate", s.complete)):
        if at is not None:
            out[key] = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return out


def history(base: str, w: World, h: History) -> dict[str, Any]:
    return {"id": h.id, "author": user(base, w.user(h.author)), "created": jira_time(h.created), "items": h.items}


def comment(base: str, w: World, issue: Issue, c: Comment) -> dict[str, Any]:
    author = user(base, w.user(c.author))
    return {
        "self": f"{base}/rest/api/3/issue/{issue.id}/comment/{c.id}",
        "id": c.id,
        "author": author,
        "body": adf(c.text),
        "updateAuthor": author,
        "created": jira_time(c.created),
        "updated": jira_time(c.created),
        "jsdPublic": True,
    }


def worklog(base: str, w: World, issue: Issue, log: Worklog) -> dict[str, Any]:
    author = user(base, w.user(log.author))
    return {
        "self": f"{base}/rest/api/3/issue/{issue.id}/worklog/{log.id}",
        "author": author,
        "updateAuthor": author,
        "comment": adf("Worked on it."),
        "created": jira_time(log.started),
        "updated": jira_time(log.started),
        "started": jira_time(log.started),
        "timeSpent": f"{log.seconds // 3600}h {log.seconds % 3600 // 60}m",
        "timeSpentSeconds": log.seconds,
        "id": log.id,
        "issueId": str(issue.id),
    }


def issue(base: str, w: World, i: Issue, fields: list[str] | None, expand: set[str]) -> dict[str, Any]:
    wanted = set(ALL_FIELDS) if fields and ({"*all", "*navigable"} & set(fields)) else set(fields or [])
    proj = w.project(i.project_id)
    values: dict[str, Any] = {}
    for name in wanted:
        if name in ALL_FIELDS:
            values[name] = _field(base, w, i, proj, name)
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": str(i.id),
        "self": f"{base}/rest/api/3/issue/{i.id}",
        "key": i.key,
    }
    if wanted:
        out["fields"] = values
    if "changelog" in expand:
        shown = i.histories[: EMBED_LIMIT["changelog"]]
        out["changelog"] = {
            "startAt": 0,
            "maxResults": len(shown),
            "total": len(i.histories),
            "histories": [history(base, w, h) for h in shown],
        }
    return out


def _field(base: str, w: World, i: Issue, proj: Project | None, name: str) -> Any:
    if name == "summary":
        return i.summary
    if name == "status":
        return status(base, i.status_id)
    if name == "issuetype":
        tid, tname = next(t for t in TYPES if t[0] == i.type_id)
        return {"self": f"{base}/rest/api/3/issuetype/{tid}", "id": tid, "name": tname, "subtask": False,
                "hierarchyLevel": 1 if tname == "Epic" else 0}  # fmt: skip
    if name == "priority":
        return {"self": f"{base}/rest/api/3/priority/3", "id": "3", "name": "Medium"}
    if name == "project":
        return (
            {k: v for k, v in project(base, proj).items() if k in ("self", "id", "key", "name", "projectTypeKey")}
            if proj
            else None
        )
    if name in ("assignee", "reporter", "creator"):
        return user(base, w.user(i.assignee if name == "assignee" else i.reporter))
    if name == "parent":
        parent = w.issues.get(i.parent_id) if i.parent_id else None
        return {"id": str(parent.id), "key": parent.key} if parent else None
    if name == "labels":
        return list(i.labels)
    if name == "fixVersions":
        return [version(base, v) for v in w.versions if v.id in i.fix_versions]
    if name == "components":
        return []
    if name in ("created", "updated", "resolutiondate"):
        at = {"created": i.created, "updated": i.updated, "resolutiondate": i.resolved}[name]
        return jira_time(at) if at else None
    if name == "resolution":
        return {"self": f"{base}/rest/api/3/resolution/10000", "id": "10000", "name": "Done"} if i.resolved else None
    if name == "timespent":
        return sum(log.seconds for log in i.worklogs) or None
    if name == "comment":
        shown = i.comments[: EMBED_LIMIT["comment"]]
        return {"comments": [comment(base, w, i, c) for c in shown], "self": f"{base}/rest/api/3/issue/{i.id}/comment",
                "maxResults": len(shown), "total": len(i.comments), "startAt": 0}  # fmt: skip
    if name == "worklog":
        logs = i.worklogs[: EMBED_LIMIT["worklog"]]
        return {"startAt": 0, "maxResults": EMBED_LIMIT["worklog"], "total": len(i.worklogs),
                "worklogs": [worklog(base, w, i, log) for log in logs]}  # fmt: skip
    if name == STORY_POINTS_FIELD:
        return i.story_points
    if name == SPRINT_FIELD:
        found = [s for s in w.sprints if s.id in i.sprint_ids]
        return [sprint(base, s, in_issue=True) for s in found] or None
    return None


def fields_list() -> list[dict[str, Any]]:
    system = [
        ("summary", "Summary", "string"), ("status", "Status", "status"), ("issuetype", "Issue Type", "issuetype"),
        ("priority", "Priority", "priority"), ("project", "Project", "project"), ("assignee", "Assignee", "user"),
        ("reporter", "Reporter", "user"), ("labels", "Labels", "array"), ("fixVersions", "Fix versions", "array"),
        ("created", "Created", "datetime"), ("updated", "Updated", "datetime"), ("comment", "Comment", "comments-page"),
        ("worklog", "Log Work", "array"), ("timespent", "Time Spent", "number"), ("parent", "Parent", "issuelink"),
    ]  # fmt: skip
    out: list[dict[str, Any]] = [
        {"id": fid, "key": fid, "name": name, "custom": False, "orderable": True, "navigable": True,
         "searchable": True, "clauseNames": [fid], "schema": {"type": kind, "system": fid}}
        for fid, name, kind in system
    ]  # fmt: skip
    custom = [
        ("customfield_10019", "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
        (SPRINT_FIELD, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint"),
        (STORY_POINTS_FIELD, "Story Points", "number", "com.atlassian.jira.plugin.system.customfieldtypes:float"),
        ("customfield_10016", "Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"),
        ("customfield_10040", "Team", "team", "com.atlassian.teams:rm-teams-custom-field-team"),
    ]
    for fid, name, kind, custom_type in custom:
        n = fid.rsplit("_", 1)[1]
        out.append({"id": fid, "key": fid, "name": name, "untranslatedName": name, "custom": True, "orderable": True,
                    "navigable": True, "searchable": True, "clauseNames": [f"cf[{n}]", name],
                    "schema": {"type": kind, "custom": custom_type, "customId": int(n)}})  # fmt: skip
    return out


def statuses(base: str) -> list[dict[str, Any]]:
    return [{**status(base, s[0]), "scope": {"type": "PROJECT"}} for s in STATUSES]


def issue_types(base: str) -> list[dict[str, Any]]:
    return [{"self": f"{base}/rest/api/3/issuetype/{tid}", "id": tid, "name": name, "subtask": False,
             "hierarchyLevel": 1 if name == "Epic" else 0} for tid, name in TYPES]  # fmt: skip
