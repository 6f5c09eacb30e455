"""The fake Jira site's data: deterministic from a seed and sizes, and its mutations.

Times are rendered like Jira renders them for an account in ``America/Phoenix`` (UTC-07:00, no
daylight saving): ``2026-02-03T10:15:00.000-0700``; JQL dates are read in the same zone.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from connectors.sandbox import shared_world

ZONE = timezone(timedelta(hours=-7))
ZONE_NAME = "America/Phoenix"
EPOCH = datetime(2026, 1, 5, 16, 0, tzinfo=UTC)
EMAIL = "ingest@acme.example"
API_TOKEN = "jira-sandbox-token"
STORY_POINTS_FIELD = "customfield_10031"  # deliberately not the common 10016: found by name
SPRINT_FIELD = "customfield_10027"
EMBED_LIMIT = {"changelog": 100, "comment": 20, "worklog": 20}
STATUSES = (
    ("10000", "To Do", 2, "new", "To Do"),
    ("3", "In Progress", 4, "indeterminate", "In Progress"),
    ("10001", "In Review", 4, "indeterminate", "In Progress"),
    ("10002", "Done", 3, "done", "Done"),
)
TYPES = (("10001", "Story"), ("10002", "Bug"), ("10003", "Task"), ("10004", "Epic"))
WORDS = [
    "login",
    "search",
    "export",
    "billing",
    "cache",
    "report",
    "sync",
    "audit",
    "invite",
    "onboarding",
    "webhook",
    "dashboard",
]


def jira_time(at: datetime) -> str:
    local = at.astimezone(ZONE)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


@dataclass
class User:
    account_id: str
    name: str
    email: str | None
    active: bool = True
    account_type: str = "atlassian"
    roster_key: str | None = None  # who this is in the shared world (None: no one else's)


@dataclass
class Project:
    id: str
    key: str
    name: str
    next_number: int = 1


@dataclass
class Version:
    id: str
    project_id: str
    name: str
    released: bool
    release_date: str | None


@dataclass
class Board:
    id: int
    name: str
    type: str
    project_key: str


@dataclass
class Sprint:
    id: int
    board_id: int
    name: str
    state: str
    start: datetime | None = None
    end: datetime | None = None
    complete: datetime | None = None


@dataclass
class History:
    id: str
    author: str
    created: datetime
    items: list[dict[str, Any]]


@dataclass
class Comment:
    id: str
    author: str
    text: str
    created: datetime


@dataclass
class Worklog:
    id: str
    author: str
    seconds: int
    started: datetime


@dataclass
class Issue:
    id: int
    key: str
    project_id: str
    summary: str
    type_id: str
    status_id: str
    assignee: str | None
    reporter: str
    created: datetime
    updated: datetime
    resolved: datetime | None
    labels: list[str]
    fix_versions: list[str]
    sprint_ids: list[int]
    story_points: float | None
    parent_id: int | None = None
    histories: list[History] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    worklogs: list[Worklog] = field(default_factory=list)
    old_keys: list[str] = field(default_factory=list)


class World:
    def __init__(
        self,
        seed: int = 7,
        *,
        projects: int = 3,
        issues: int = 24,
        users: int = 8,
        sprints: int = 3,
        versions: int = 3,
    ) -> None:
        self.rng = random.Random(seed)
        self.users = [self._user(i) for i in range(users)]
        self.users.append(User("557058:f58131cb-b67d-43c7-b30d-6b58d40bd077", "Automation for Jira", None, True, "app"))
        humans = [u.account_id for u in self.users if u.account_type == "atlassian"]
        self.projects: list[Project] = []
        self.versions: list[Version] = []
        self.boards: list[Board] = []
        self.sprints: list[Sprint] = []
        self.issues: dict[int, Issue] = {}
        self.forbidden: set[str] = set()  # project ids the account may list but not read
        self._ids = {"issue": 10000, "history": 20000, "comment": 30000, "worklog": 40000, "version": 10100}
        keys = ["ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON", "ZETA", "ETA", "THETA"]
        for p in range(projects):
            key = keys[p] if p < len(keys) else f"P{p}"
            proj = Project(str(10000 + p), key, f"{key.title()} team")
            self.projects.append(proj)
            for v in range(versions):
                released = v < versions - 1
                date = (EPOCH + timedelta(days=30 * (v + 1))).date().isoformat()
                self.versions.append(Version(self._next("version"), proj.id, f"{key}-{v + 1}.0", released, date))
            board = Board(p + 1, f"{key} board", "scrum", key)
            self.boards.append(board)
            for s in range(sprints):
                sid = 100 * (p + 1) + s
                start = EPOCH + timedelta(days=14 * s)
                state = "closed" if s < sprints - 2 else ("active" if s == sprints - 2 else "future")
                self.sprints.append(
                    Sprint(
                        sid,
                        board.id,
                        f"{key} Sprint {s + 1}",
                        state,
                        start if state != "future" else None,
                        start + timedelta(days=14) if state != "future" else None,
                        start + timedelta(days=14, hours=2) if state == "closed" else None,
                    )
                )
            for _ in range(issues):
                self._new_issue(proj, humans)
        if self.projects:
            self.boards.append(
                Board(len(self.boards) + 1, f"{self.projects[0].key} kanban", "kanban", self.projects[0].key)
            )
        self._busy_issues(humans)

    # -- generation ---------------------------------------------------------------------------------
    def _user(self, i: int) -> User:
        account = f"{self.rng.getrandbits(96):024x}"
        m = shared_world.member_for("jira", i)
        if m is None:
            email = f"user{i}@jira-only.example" if i % 3 else None  # many sites hide emails
            return User(account, f"User {i}", email, active=i != 5)
        visible = m.jira if isinstance(m.jira, str) else None  # False: this site hides the address
        return User(account, m.name, visible, active=i != 5, roster_key=m.key)

    def issue_ids(self) -> dict[str, str]:
        """Every issue key -> its id (what a link to the issue names)."""
        return {i.key: str(i.id) for i in self.issues.values()}

    def _next(self, kind: str) -> str:
        self._ids[kind] += 1
        return str(self._ids[kind])

    def _new_issue(self, proj: Project, humans: list[str], *, at: datetime | None = None) -> Issue:
        rng = self.rng
        number = proj.next_number
        proj.next_number += 1
        created = at or EPOCH + timedelta(hours=rng.randint(0, 24 * 40), minutes=rng.randint(0, 59))
        status = STATUSES[rng.randrange(len(STATUSES))]
        iid = int(self._next("issue"))
        sprints = [s.id for s in self.sprints if s.board_id == self._board_of(proj).id and s.state != "future"]
        issue = Issue(
            id=iid,
            key=f"{proj.key}-{number}",
            project_id=proj.id,
            summary=f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} #{number}",
            type_id=TYPES[rng.randrange(len(TYPES))][0],
            status_id=status[0],
            assignee=rng.choice(humans) if rng.random() < 0.8 else None,
            reporter=rng.choice(humans),
            created=created,
            updated=created,
            resolved=None,
            labels=rng.sample(["backend", "frontend", "customer", "tech-debt"], k=rng.randint(0, 2)),
            fix_versions=[v.id for v in self.versions if v.project_id == proj.id][: rng.randint(0, 1)],
            sprint_ids=rng.sample(sprints, k=min(len(sprints), rng.randint(0, 2))) if sprints else [],
            story_points=float(rng.choice([1, 2, 3, 5, 8])) if rng.random() < 0.7 else None,
        )
        self.issues[iid] = issue
        path = ["10000", "3", "10001", "10002"]
        steps = path[: path.index(status[0]) + 1] if status[0] in path else [status[0]]
        t = created
        for prev, nxt in itertools.pairwise(steps):
            t += timedelta(hours=rng.randint(1, 48))
            self._add_history(issue, rng.choice(humans), t, [_status_item(prev, nxt)])
        if status[3] == "done":
            issue.resolved = t
        for _ in range(rng.randint(0, 3)):
            t += timedelta(minutes=rng.randint(5, 600))
            self._add_comment(issue, rng.choice(humans), t)
        for _ in range(rng.randint(0, 2)):
            self._add_worklog(issue, rng.choice(humans), t)
        return issue

    def _busy_issues(self, humans: list[str]) -> None:
        """A few issues whose changelog, comments or worklogs overflow what search embeds."""
        first = [i for i in self.issues.values()]
        if len(first) < 3:
            return
        a, b, c = first[0], first[1], first[2]
        t = a.updated
        for k in range(EMBED_LIMIT["changelog"] + 20):
            t += timedelta(minutes=7)
            self._add_history(a, humans[k % len(humans)], t, [{"field": "labels", "fieldtype": "jira",
                              "fieldId": "labels", "from": None, "fromString": f"l{k}", "to": None,
                              "toString": f"l{k + 1}"}])  # fmt: skip
        t = b.updated
        for k in range(EMBED_LIMIT["comment"] + 7):
            t += timedelta(minutes=11)
            self._add_comment(b, humans[k % len(humans)], t)
        for k in range(EMBED_LIMIT["worklog"] + 3):
            self._add_worklog(c, humans[k % len(humans)], c.updated)

    def _board_of(self, proj: Project) -> Board:
        return next(b for b in self.boards if b.project_key == proj.key and b.type == "scrum")

    def _add_history(self, issue: Issue, author: str, at: datetime, items: list[dict[str, Any]]) -> None:
        issue.histories.append(History(self._next("history"), author, at, items))
        issue.updated = max(issue.updated, at)

    def _add_comment(self, issue: Issue, author: str, at: datetime) -> None:
        text = f"Looked at {self.rng.choice(WORDS)}; {self.rng.choice(WORDS)} next."
        issue.comments.append(Comment(self._next("comment"), author, text, at))
        issue.updated = max(issue.updated, at)

    def _add_worklog(self, issue: Issue, author: str, at: datetime) -> None:
        issue.worklogs.append(Worklog(self._next("worklog"), author, 900 * self.rng.randint(1, 16), at))

    # -- queries --------------------------------------------------------------------------------------
    def project(self, ref: str) -> Project | None:
        ref = ref.strip().strip('"')
        return next((p for p in self.projects if ref in (p.id, p.key) or ref.upper() == p.key), None)

    def find_issue(self, ref: str) -> Issue | None:
        if ref.isdigit() and int(ref) in self.issues:
            return self.issues[int(ref)]
        up = ref.upper()
        return next((i for i in self.issues.values() if i.key == up or up in i.old_keys), None)

    def user(self, account_id: str | None) -> User | None:
        return next((u for u in self.users if u.account_id == account_id), None)

    def counts(self) -> dict[str, int]:
        issues = list(self.issues.values())
        return {
            "project": len(self.projects),
            "person": len(self.users),
            "work_item": len(issues),
            "work_item_transition": sum(len(h.items) for i in issues for h in i.histories),
            "comment": sum(len(i.comments) for i in issues),
            "sprint": len(self.sprints),
            "release": len(self.versions),
        }

    # -- mutations (POST /__mutate) -----------------------------------------------------------------
    def now(self) -> datetime:
        return max([datetime.now(UTC), *(i.updated + timedelta(seconds=1) for i in self.issues.values())])

    def delete_issue(self, ref: str) -> dict[str, Any]:
        issue = self.find_issue(ref)
        if issue is None:
            raise KeyError(ref)
        del self.issues[issue.id]
        return {"deleted": issue.key, "id": str(issue.id)}

    def move_issue(self, ref: str, to_project: str) -> dict[str, Any]:
        issue = self.find_issue(ref)
        dest = self.project(to_project)
        if issue is None or dest is None:
            raise KeyError(f"{ref} -> {to_project}")
        old_key, old_project = issue.key, self.project(issue.project_id)
        issue.old_keys.append(old_key)
        issue.key = f"{dest.key}-{dest.next_number}"
        dest.next_number += 1
        issue.project_id = dest.id
        issue.sprint_ids = []
        issue.fix_versions = []
        at = self.now()
        items = [
            {"field": "project", "fieldtype": "jira", "fieldId": "project", "from": old_project.id if old_project
             else None, "fromString": old_project.name if old_project else None, "to": dest.id,
             "toString": dest.name},
            {"field": "Key", "fieldtype": "jira", "from": None, "fromString": old_key, "to": None,
             "toString": issue.key},
        ]  # fmt: skip
        self._add_history(issue, self.users[0].account_id, at, items)
        return {"moved": old_key, "to": issue.key, "id": str(issue.id)}

    def touch_issue(self, ref: str) -> dict[str, Any]:
        issue = self.find_issue(ref)
        if issue is None:
            raise KeyError(ref)
        self._add_comment(issue, self.users[0].account_id, self.now())
        return {"touched": issue.key}

    def add_issue(self, project: str) -> dict[str, Any]:
        proj = self.project(project)
        if proj is None:
            raise KeyError(project)
        humans = [u.account_id for u in self.users if u.account_type == "atlassian"]
        issue = self._new_issue(proj, humans, at=self.now())
        return {"added": issue.key, "id": str(issue.id)}


def _status_item(prev: str, nxt: str) -> dict[str, Any]:
    names = {s[0]: s[1] for s in STATUSES}
    return {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": prev, "fromString": names[prev],
            "to": nxt, "toString": names[nxt]}  # fmt: skip


_WHEN = re.compile(r'^"?(\d{4})[-/](\d{2})[-/](\d{2})(?:\s+(\d{2}):(\d{2}))?"?$')


def jql_instant(text: str) -> datetime | None:
    """A JQL date literal in the account's zone (``"2026-02-01 10:15"``) -> aware UTC datetime."""
    m = _WHEN.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi = (int(x) if x else 0 for x in m.groups())
    return datetime(y, mo, d, h, mi, tzinfo=ZONE).astimezone(UTC)
