"""The fake Bitbucket workspace's data: deterministic from a seed and sizes, and its mutations."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.sandbox import shared_world

EPOCH = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
TOKEN = "bitbucket-sandbox-access-token"
EMAIL = "ingest@acme.example"
API_TOKEN = "bitbucket-sandbox-api-token"
REPO_NAMES = ["api", "web", "infra", "docs", "mobile", "billing", "search", "auth"]
WORDS = ["fix", "add", "refactor", "bump", "tidy", "speed up", "document", "test"]
THINGS = ["cache", "login", "export", "pipeline", "webhooks", "search", "retry", "config"]


def bb_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class Member:
    uuid: str
    account_id: str
    nickname: str
    display_name: str
    email: str = ""  # the address its commits carry (Bitbucket attributes them by it)
    roster_key: str | None = None  # who this is in the shared world (None: no one else's)


@dataclass
class Project:
    uuid: str
    key: str
    name: str
    created: datetime


@dataclass
class Commit:
    hash: str
    author: str  # member uuid
    date: datetime
    message: str
    parents: list[str]


@dataclass
class Activity:
    kind: str  # update | approval | changes_requested | comment
    user: str
    date: datetime
    state: str | None = None  # for updates
    comment_id: int | None = None
    text: str | None = None


@dataclass
class PullRequest:
    id: int
    title: str
    author: str
    source: str
    destination: str
    state: str
    created: datetime
    updated: datetime
    commits: list[str]
    merge_commit: str | None = None
    closed_by: str | None = None
    activity: list[Activity] = field(default_factory=list)


@dataclass
class Repo:
    uuid: str
    slug: str
    project: str  # project uuid
    private: bool
    created: datetime
    updated: datetime
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> head hash
    pulls: dict[int, PullRequest] = field(default_factory=dict)


class World:
    def __init__(
        self, seed: int = 7, *, workspace: str = "acme", repos: int = 4, members: int = 6, commits: int = 20,
        pulls: int = 6,
    ) -> None:  # fmt: skip
        self.rng = random.Random(seed)
        self.workspace = workspace
        self.workspace_uuid = self._uuid()
        self.members = [self._member(i) for i in range(members)]
        self.projects = [
            Project(self._uuid(), "CORE", "Core services", EPOCH - timedelta(days=300)),
            Project(self._uuid(), "WEB", "Web front ends", EPOCH - timedelta(days=200)),
        ]
        self.repos: dict[str, Repo] = {}
        self.forbidden: set[str] = set()
        self._comment_id = 500000
        for r in range(repos):
            slug = REPO_NAMES[r] if r < len(REPO_NAMES) else f"repo{r}"
            created = EPOCH - timedelta(days=100 - r)
            repo = Repo(self._uuid(), slug, self.projects[r % 2].uuid, r % 3 != 2, created, created)
            self.repos[slug] = repo
            self._history(repo, commits, pulls)
        self.planted: list[dict[str, str]] = []  # {"kind", "external_id", "key", "how"}
        if self.repos:
            self._plant(next(iter(self.repos.values())))

    # -- generation ---------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return "{" + str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) + "}"

    def _member(self, i: int) -> Member:
        uid, account = self._uuid(), f"557058:{self._uuid()[1:-1]}"
        m = shared_world.member_for("bitbucket", i)
        if m is None or m.bitbucket is None:
            return Member(uid, account, f"dev{i}", f"Developer {i}", f"dev{i}@bitbucket-only.example")
        return Member(uid, account, m.bitbucket[0], m.name, m.bitbucket[1], m.key)

    def _plant(self, repo: Repo) -> None:
        """The shared plan's references in the first repository (keys in titles, a branch, commits)."""
        plan = shared_world.PLAN

        def ref(kind: str, external_id: str, key: tuple[int, int], how: str) -> None:
            self.planted.append(
                {"kind": kind, "external_id": external_id, "key": shared_world.jira_key(*key), "how": how}
            )

        for pr_id, title, key in plan.bitbucket_pr_titles:
            if pr_id in repo.pulls:
                repo.pulls[pr_id].title = title
                if key is not None:
                    ref("pull_request", f"{repo.uuid}#{pr_id}", key, "key_in_title")
        pr_id, branch, key = plan.bitbucket_branch
        if pr_id in repo.pulls:
            pr = repo.pulls[pr_id]
            repo.branches = {(branch if name == pr.source else name): head for name, head in repo.branches.items()}
            pr.source = branch
            ref("pull_request", f"{repo.uuid}#{pr_id}", key, "key_in_branch")
            ref("branch", f"{repo.uuid}:{branch}", key, "key_in_branch")
        history = list(repo.commits.values())
        for index, message, key in plan.bitbucket_commit_messages:
            if index < len(history):
                history[index].message = message
                if key is not None:
                    ref("commit", f"{repo.uuid}:{history[index].hash}", key, "key_in_message")

    def _commit(self, repo: Repo, parents: list[str], at: datetime, author: str | None = None) -> Commit:
        who = author or self.rng.choice(self.members).uuid
        message = f"{self.rng.choice(WORDS).capitalize()} {self.rng.choice(THINGS)}\n"
        digest = hashlib.sha1(f"{repo.uuid}|{len(repo.commits)}|{at.isoformat()}|{parents}".encode()).hexdigest()
        c = Commit(digest, who, at, message, parents)
        repo.commits[c.hash] = c
        repo.updated = max(repo.updated, at)
        return c

    def _history(self, repo: Repo, commits: int, pulls: int) -> None:
        rng = self.rng
        t = repo.created
        head = self._commit(repo, [], t).hash
        for _ in range(max(0, commits - 1)):
            t += timedelta(hours=rng.randint(2, 30), minutes=rng.randint(0, 59))
            head = self._commit(repo, [head], t).hash
        repo.branches["main"] = head
        states = ["OPEN", "MERGED", "DECLINED", "MERGED", "SUPERSEDED", "OPEN"]
        for n in range(1, pulls + 1):
            author = rng.choice(self.members).uuid
            branch = f"feature/{rng.choice(THINGS)}-{n}"
            start = t - timedelta(days=rng.randint(2, 20))
            base = repo.branches["main"]
            tip = base
            own: list[str] = []
            at = start
            for _ in range(rng.randint(1, 3)):
                at += timedelta(hours=rng.randint(1, 8))
                tip = self._commit(repo, [tip], at, author).hash
                own.append(tip)
            repo.branches[branch] = tip
            pr = PullRequest(n, f"{rng.choice(WORDS).capitalize()} {rng.choice(THINGS)}", author, branch, "main",
                             "OPEN", start, at, own)  # fmt: skip
            repo.pulls[n] = pr
            pr.activity.append(Activity("update", author, start, state="OPEN"))
            reviewers = [m.uuid for m in self.members if m.uuid != author]
            for who in rng.sample(reviewers, k=rng.randint(0, 2)):
                at += timedelta(minutes=rng.randint(10, 300))
                self._comment(pr, who, at)
            if rng.random() < 0.4:
                at += timedelta(minutes=30)
                pr.activity.append(Activity("changes_requested", rng.choice(reviewers), at))
            for who in rng.sample(reviewers, k=rng.randint(0, 2)):
                at += timedelta(minutes=rng.randint(10, 120))
                pr.activity.append(Activity("approval", who, at))
            pr.updated = at
            state = states[(n - 1) % len(states)]
            if state != "OPEN":
                self._close(repo, pr, state, at + timedelta(hours=1), rng.choice(reviewers))

    def _comment(self, pr: PullRequest, who: str, at: datetime) -> None:
        self._comment_id += 1
        text = f"Could we {self.rng.choice(WORDS)} the {self.rng.choice(THINGS)} here?"
        pr.activity.append(Activity("comment", who, at, comment_id=self._comment_id, text=text))
        pr.updated = max(pr.updated, at)

    def _close(self, repo: Repo, pr: PullRequest, state: str, at: datetime, who: str) -> None:
        pr.state = state
        pr.closed_by = who
        if state == "MERGED":
            merge = self._commit(repo, [repo.branches["main"], pr.commits[-1]], at, who)
            repo.branches["main"] = merge.hash
            pr.merge_commit = merge.hash
        pr.activity.append(Activity("update", who, at, state=state))
        pr.updated = at
        repo.updated = max(repo.updated, at)

    # -- queries --------------------------------------------------------------------------------------
    def member(self, member_uuid: str | None) -> Member | None:
        return next((m for m in self.members if m.uuid == member_uuid), None)

    def project(self, project_uuid: str) -> Project | None:
        return next((p for p in self.projects if p.uuid == project_uuid), None)

    def counts(self) -> dict[str, int]:
        repos = list(self.repos.values())
        reviews = {
            (r.uuid, pr.id, a.kind, a.user)
            for r in repos
            for pr in r.pulls.values()
            for a in pr.activity
            if a.kind in ("approval", "changes_requested")
        }
        return {
            "person": len(self.members),
            "project": len(self.projects),
            "repository": len(repos),
            "branch": sum(len(r.branches) for r in repos),
            "commit": sum(len(r.commits) for r in repos),
            "pull_request": sum(len(r.pulls) for r in repos),
            "review": len(reviews),
            "comment": sum(1 for r in repos for pr in r.pulls.values() for a in pr.activity if a.kind == "comment"),
        }

    # -- mutations (POST /__mutate) -----------------------------------------------------------------
    def now(self) -> datetime:
        latest = max((r.updated for r in self.repos.values()), default=EPOCH)
        return max(datetime.now(UTC), latest + timedelta(seconds=1))

    def _pr(self, op: dict[str, Any]) -> tuple[Repo, PullRequest]:
        repo = self.repos[str(op["repo"])]
        return repo, repo.pulls[int(op["id"])]

    def apply(self, op: dict[str, Any]) -> dict[str, Any]:
        kind = op.get("op")
        who = self.members[0].uuid
        if kind in ("merge_pr", "decline_pr", "supersede_pr"):
            repo, pr = self._pr(op)
            if pr.state != "OPEN":
                raise KeyError(f"pull request {pr.id} is {pr.state}")
            state = {"merge_pr": "MERGED", "decline_pr": "DECLINED", "supersede_pr": "SUPERSEDED"}[kind]
            self._close(repo, pr, state, self.now(), who)
            return {"pull_request": pr.id, "state": state}
        if kind == "approve_pr":
            repo, pr = self._pr(op)
            at = self.now()
            pr.activity.append(Activity("approval", str(op.get("user") or self.members[-1].uuid), at))
            pr.updated = repo.updated = at
            return {"approved": pr.id}
        if kind == "comment_pr":
            repo, pr = self._pr(op)
            at = self.now()
            self._comment(pr, self.members[-1].uuid, at)
            repo.updated = at
            return {"commented": pr.id}
        if kind == "push":
            repo = self.repos[str(op["repo"])]
            head = repo.branches["main"]
            pushed = []
            for _ in range(int(op.get("commits", 1))):
                head = self._commit(repo, [head], self.now()).hash
                pushed.append(head)
            repo.branches["main"] = head
            return {"pushed": pushed}
        if kind == "open_pr":
            repo = self.repos[str(op["repo"])]
            n = max(repo.pulls, default=0) + 1
            at = self.now()
            tip = self._commit(repo, [repo.branches["main"]], at, who).hash
            repo.branches[f"feature/new-{n}"] = tip
            pr = PullRequest(n, "New work", who, f"feature/new-{n}", "main", "OPEN", at, at, [tip])
            pr.activity.append(Activity("update", who, at, state="OPEN"))
            repo.pulls[n] = pr
            return {"opened": n}
        if kind == "delete_repo":
            gone = self.repos.pop(str(op["repo"]))
            return {"deleted": gone.slug}
        if kind == "forbid_repo":
            self.forbidden.add(self.repos[str(op["repo"])].slug)
            return {"forbidden": op["repo"]}
        raise KeyError(f"op {kind!r}")
