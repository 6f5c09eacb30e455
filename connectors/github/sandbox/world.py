"""The sandbox's data: an organization generated deterministically from a seed and a size.

Every repository gets branches, a default-branch history, pull requests (open, closed, merged;
some by a bot or an outside contributor) with commits, reviews, review comments and conversation
comments, and issues with comments and events. Pull requests are issues too (they appear in
``/issues``, ``/issues/comments`` and ``/issues/events`` like on GitHub). One repository is
archived and one (from four repositories up) is empty (no commits: 409 on /commits).

``counts()`` says what one full refresh of the connector loads (archived repositories are
listed but not ingested unless ``include_archived``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from itertools import pairwise

from connectors.sandbox import shared_world

from .records import START, Comment, Commit, Event, Issue, Pull, Repo, Review, ReviewComment, User, iso, sha_of
from .tally import tally


def _ref(kind: str, external_id: str, key: tuple[int, int], how: str) -> dict[str, str]:
    return {"kind": kind, "external_id": external_id, "key": shared_world.jira_key(*key), "how": how}


LABELS = ["bug", "feature", "chore", "docs"]
REVIEW_STATES = ["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "APPROVED", "DISMISSED"]
WORDS = ["cache", "parser", "login", "billing", "search", "export", "retry", "metrics", "docs", "build"]


# What a sandbox's keyword arguments may set of its world (the defaults are World's).
WORLD_SIZE = ("repos", "members", "commits", "pulls", "issues", "org")


class World:
    def __init__(
        self,
        *,
        seed: int = 7,
        repos: int = 5,
        members: int = 6,
        commits: int = 60,
        pulls: int = 12,
        issues: int = 10,
        org: str = "sandbox-org",
    ) -> None:
        self.rng = random.Random(seed)
        self.org = org
        self.org_id = 9_000_000 + seed
        self._ids: dict[str, int] = {}
        self.members = [self._member(i) for i in range(members)]
        self.outsider = User(self._id("user", 1_000), "outside-contributor", email="oc@example.net")
        self.bot = User(self._id("user", 1_000), "dependabot[bot]", type="Bot")
        self.repos = [
            self._repo(i, n_commits=commits, n_pulls=pulls, n_issues=issues, total=repos) for i in range(repos)
        ]
        self.clock = max([START, *(self._latest(r) for r in self.repos)]) + timedelta(days=1)
        self.planted: list[dict[str, str]] = []  # {"kind", "external_id", "key", "how"}
        if self.repos and not self.repos[0].empty:
            self._plant(self.repos[0])

    def _member(self, i: int) -> User:
        """Account ``i``: a member of the shared world (login, commit e-mail) or an extra one."""
        m = shared_world.member_for("github", i)
        uid = self._id("user", 1_000)
        if m is None or m.github is None:
            return User(uid, f"dev-{i}", name=f"Developer {i}", email=f"dev-{i}@github-only.example")
        return User(uid, m.github[0], name=m.name, email=m.github[1])

    def member_keys(self) -> dict[str, str | None]:
        """External id -> roster key of every human account a full refresh loads."""
        loaded = self.person_ids()
        out: dict[str, str | None] = {}
        for i, u in enumerate(self.members):
            m = shared_world.member_for("github", i)
            out[str(u.id)] = m.key if m is not None else None
        if self.outsider.id in loaded:
            out[str(self.outsider.id)] = None
        return out

    def _plant(self, repo: Repo) -> None:
        """The shared plan's references in the first repository (keys in titles, a branch, commits)."""
        plan = shared_world.PLAN
        pulls = [repo.pulls[n] for n in sorted(repo.pulls)]
        rid = str(repo.id)
        for index, title, key in plan.github_pr_titles:
            if index < len(pulls):
                pulls[index].title = repo.issues[pulls[index].number].title = title
                if key is not None:
                    self.planted.append(_ref("pull_request", f"{rid}#{pulls[index].number}", key, "key_in_title"))
        index, branch, key = plan.github_branch
        if index < len(pulls):
            pull = pulls[index]
            old = pull.head_ref
            pull.head_ref = branch
            self.planted.append(_ref("pull_request", f"{rid}#{pull.number}", key, "key_in_branch"))
            if any(name == old for name, _ in repo.branches):
                repo.branches = [(branch if name == old else name, sha) for name, sha in repo.branches]
                self.planted.append(_ref("branch", f"{rid}:{branch}", key, "key_in_branch"))
        oldest = list(reversed(repo.commits))
        for index, message, key in plan.github_commit_messages:
            if index < len(oldest):
                oldest[index].message = message
                if key is not None:
                    self.planted.append(_ref("commit", f"{rid}:{oldest[index].sha}", key, "key_in_message"))

    # -- ids and time ---------------------------------------------------------------------
    def _id(self, kind: str, start: int) -> int:
        self._ids[kind] = self._ids.get(kind, start) + 1
        return self._ids[kind]

    def _comment_id(self) -> int:
        # Issue comments and review comments come from separate sequences that overlap, as on
        # GitHub: the connector must key them apart.
        return self._id("issue_comment", 5_000_000)

    def _review_comment_id(self) -> int:
        return self._id("review_comment", 5_000_000)

    def tick(self) -> datetime:
        self.clock += timedelta(hours=1)
        return self.clock

    def _latest(self, repo: Repo) -> datetime:
        times = [repo.updated_at, *(c.at for c in repo.commits)]
        times += [p.updated_at for p in repo.pulls.values()] + [i.updated_at for i in repo.issues.values()]
        return max(times)

    # -- generation -------------------------------------------------------------------------
    def _someone(self) -> User:
        return self.rng.choice(self.members)

    def _commit(self, repo_id: int, i: int, at: datetime, topic: str) -> Commit:
        linked = self.rng.random() < 0.85
        author = self._someone()
        return Commit(
            sha=sha_of(repo_id, i, topic),
            message=f"{topic}: change {i}\n\nDetails of change {i}.",
            author=author if linked else None,
            author_name=author.name or author.login,
            author_email=author.email if linked and author.email else f"unlinked-{i}@example.org",
            at=at,
        )

    def _repo(self, index: int, *, n_commits: int, n_pulls: int, n_issues: int, total: int) -> Repo:
        rng = self.rng
        rid = self._id("repo", 70_000_000)
        created = START + timedelta(days=index)
        archived = total >= 2 and index == total - 1
        empty = total >= 4 and index == total - 2
        repo = Repo(
            id=rid,
            name=f"{rng.choice(WORDS)}-service-{index}",
            private=index % 2 == 0,
            archived=archived,
            empty=empty,
            created_at=created,
            updated_at=created,
            commits=[],
            branches=[],
            pulls={},
            issues={},
        )
        if empty:
            return repo
        t = created + timedelta(hours=1)
        history: list[Commit] = []
        for i in range(n_commits + rng.randint(0, n_commits)):
            t += timedelta(minutes=rng.randint(20, 600))
            history.append(self._commit(rid, i, t, rng.choice(WORDS)))
        # Pull requests and issues share one number space; create them in time order.
        items: list[tuple[datetime, str]] = []
        for _ in range(n_pulls):
            items.append((created + timedelta(hours=rng.randint(2, 24 * 60)), "pull"))
        for _ in range(n_issues):
            items.append((created + timedelta(hours=rng.randint(2, 24 * 60)), "issue"))
        items.sort()
        for number, (at, kind) in enumerate(items, start=1):
            if kind == "pull":
                pull, twin = self._pull(rid, number, at, history)
                repo.pulls[number] = pull
                repo.issues[number] = twin
            else:
                repo.issues[number] = self._issue(number, at)
        history.sort(key=lambda c: (c.at, c.sha))
        for prev, cur in pairwise(history):
            cur.parents = [prev.sha]
        repo.commits = list(reversed(history))
        repo.branches = [("main", repo.commits[0].sha)]
        repo.branches += [(p.head_ref, p.head_sha) for p in repo.pulls.values() if p.state == "open"]
        repo.branches.append(("release", repo.commits[min(5, len(repo.commits) - 1)].sha))
        repo.updated_at = repo.commits[0].at
        return repo

    def _pull(self, repo_id: int, number: int, at: datetime, history: list[Commit]) -> tuple[Pull, Issue]:
        rng = self.rng
        roll = rng.random()
        author = self.bot if roll < 0.1 else self.outsider if roll < 0.2 else self._someone()
        fate = rng.choice(["open", "closed", "merged", "merged"])
        topic = rng.choice(WORDS)
        t = at
        commits = []
        for i in range(rng.randint(1, 4)):
            t += timedelta(minutes=rng.randint(5, 240))
            c = self._commit(repo_id, 10_000 * number + i, t, f"pr{number}-{topic}")
            commits.append(c)
        for prev, cur in pairwise(commits):
            cur.parents = [prev.sha]
        reviews: list[Review] = []
        review_comments: list[ReviewComment] = []
        for _ in range(rng.randint(0, 3)):
            t += timedelta(minutes=rng.randint(10, 900))
            reviewer = rng.choice([m for m in self.members if m is not author])
            rv = Review(self._id("review", 80_000_000), reviewer, rng.choice(REVIEW_STATES), t, commits[-1].sha)
            reviews.append(rv)
            for _ in range(rng.randint(0, 2)):
                rc_id = self._review_comment_id()
                review_comments.append(
                    ReviewComment(rc_id, reviewer, f"nit {rc_id}", t, t, rv.id, f"src/{topic}.py", commits[-1].sha)
                )
        comments = []
        for _ in range(rng.randint(0, 2)):
            t += timedelta(minutes=rng.randint(10, 300))
            cid = self._comment_id()
            comments.append(Comment(cid, self._someone(), f"comment {cid}", t, t))
        events = [Event(self._id("event", 40_000_000), author, "review_requested", at + timedelta(minutes=1))]
        closed_at = merged_at = None
        if fate != "open":
            t += timedelta(hours=rng.randint(1, 48))
            closed_at = t
            closer = self._someone()
            if fate == "merged":
                merged_at = t
                history.extend(commits)
                events.append(
                    Event(self._id("event", 40_000_000), closer, "merged", t, commit_id=sha_of("merge", number))
                )
            events.append(Event(self._id("event", 40_000_000), closer, "closed", t))
        pull = Pull(
            id=self._id("pull", 600_000_000),
            number=number,
            title=f"{topic}: improve {rng.choice(WORDS)}",
            user=author,
            state="open" if fate == "open" else "closed",
            created_at=at,
            updated_at=t,
            closed_at=closed_at,
            merged_at=merged_at,
            head_ref=f"feature/{topic}-{number}",
            base_ref="main",
            commits=commits,
            reviews=reviews,
            review_comments=review_comments,
            from_fork=author is self.outsider,
        )
        twin = Issue(
            id=self._id("issue", 900_000_000),
            number=number,
            title=pull.title,
            user=author,
            state=pull.state,
            created_at=at,
            updated_at=t,
            closed_at=closed_at,
            labels=[],
            assignee=None,
            comments=comments,
            events=events,
            pull=pull,
        )
        return pull, twin

    def _issue(self, number: int, at: datetime) -> Issue:
        rng = self.rng
        author = self.outsider if rng.random() < 0.2 else self._someone()
        t = at
        labels = rng.sample(LABELS, rng.randint(0, 2))
        events = []
        for label in labels:
            t += timedelta(minutes=rng.randint(1, 60))
            events.append(Event(self._id("event", 40_000_000), self._someone(), "labeled", t, label=label))
        assignee = self._someone() if rng.random() < 0.6 else None
        if assignee is not None:
            t += timedelta(minutes=rng.randint(1, 600))
            events.append(Event(self._id("event", 40_000_000), self._someone(), "assigned", t, assignee=assignee))
        title = f"{rng.choice(WORDS)} is broken"
        if rng.random() < 0.2:
            t += timedelta(minutes=rng.randint(1, 600))
            new = f"{title} on staging"
            events.append(Event(self._id("event", 40_000_000), author, "renamed", t, rename=(title, new)))
            title = new
        comments = []
        for _ in range(rng.randint(0, 3)):
            t += timedelta(minutes=rng.randint(10, 900))
            cid = self._comment_id()
            comments.append(Comment(cid, self._someone(), f"comment {cid}", t, t))
        state, closed_at = "open", None
        if rng.random() < 0.5:
            t += timedelta(hours=rng.randint(1, 72))
            state, closed_at = "closed", t
            events.append(Event(self._id("event", 40_000_000), self._someone(), "closed", t))
        return Issue(
            id=self._id("issue", 900_000_000),
            number=number,
            title=title,
            user=author,
            state=state,
            created_at=at,
            updated_at=t,
            closed_at=closed_at,
            labels=labels,
            assignee=assignee,
            comments=comments,
            events=events,
        )

    # -- lookups and changes ----------------------------------------------------------------
    def live_repos(self) -> list[Repo]:
        return [r for r in self.repos if not r.deleted]

    def find_repo(self, name: str) -> Repo | None:
        for r in self.live_repos():
            if r.name.lower() == name.lower():
                return r
        return None

    def renamed_from(self, name: str) -> Repo | None:
        for r in self.live_repos():
            if name.lower() in (o.lower() for o in r.old_names):
                return r
        return None

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.live_repos() if r.id == repo_id), None)

    def touch_pull(self, repo: Repo, number: int) -> None:
        """Edit a pull request and add a review (updates PR and its issue twin)."""
        pull = repo.pulls[number]
        t = self.tick()
        reviewer = next(m for m in self.members if m is not pull.user)
        pull.reviews.append(Review(self._id("review", 80_000_000), reviewer, "COMMENTED", t, pull.head_sha))
        pull.title = f"{pull.title} (edited)"
        pull.updated_at = t
        twin = repo.issues[number]
        twin.title, twin.updated_at = pull.title, t

    def add_issue_comment(self, repo: Repo, number: int) -> None:
        issue = repo.issues[number]
        t = self.tick()
        cid = self._comment_id()
        issue.comments.append(Comment(cid, self.members[0], f"comment {cid}", t, t))
        issue.updated_at = t
        if issue.pull is not None:
            issue.pull.updated_at = t

    def add_commit(self, repo: Repo) -> None:
        t = self.tick()
        c = self._commit(repo.id, 100_000 + len(repo.commits), t, "hotfix")
        c.parents = [repo.commits[0].sha] if repo.commits else []
        repo.commits.insert(0, c)
        repo.branches = [("main", c.sha), *[b for b in repo.branches if b[0] != "main"]]
        repo.empty = False
        repo.updated_at = t

    def rename(self, repo: Repo, new_name: str) -> None:
        repo.old_names.append(repo.name)
        repo.name = new_name
        repo.updated_at = self.tick()

    # -- truth ------------------------------------------------------------------------------
    def counts(self, include_archived: bool = False) -> dict[str, int]:
        """Distinct rows per entity kind that one full refresh loads."""
        n, _ = tally(self.members, self.live_repos(), include_archived)
        return n

    def person_ids(self, include_archived: bool = False) -> set[int]:
        return tally(self.members, self.live_repos(), include_archived)[1]


__all__ = [
    "START",
    "Comment",
    "Commit",
    "Event",
    "Issue",
    "Pull",
    "Repo",
    "Review",
    "ReviewComment",
    "User",
    "World",
    "iso",
    "sha_of",
]
