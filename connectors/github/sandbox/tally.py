"""What one full refresh of the GitHub sandbox's world loads: rows per entity kind, and its people."""

from __future__ import annotations

from .records import Repo, User


def tally(members: list[User], live_repos: list[Repo], include_archived: bool) -> tuple[dict[str, int], set[int]]:
    """Distinct rows per entity kind one full refresh loads, and the ids of the people among them
    (archived repositories count only with ``include_archived``)."""
    persons = {u.id for u in members}
    n = dict.fromkeys(
        (
            "repository",
            "branch",
            "commit",
            "pull_request",
            "review",
            "comment",
            "work_item",
            "work_item_transition",
        ),
        0,
    )
    n["repository"] = len(live_repos)
    for repo in live_repos:
        if repo.archived and not include_archived:
            continue
        n["branch"] += len(repo.branches)
        shas = {c.sha for c in repo.commits}
        persons |= {c.author.id for c in repo.commits if c.author}
        for pull in repo.pulls.values():
            shas |= {c.sha for c in pull.commits}
            persons |= {c.author.id for c in pull.commits if c.author}
            persons.add(pull.user.id)
            n["review"] += len(pull.reviews)
            persons |= {r.user.id for r in pull.reviews}
            n["comment"] += len(pull.review_comments)
            persons |= {c.user.id for c in pull.review_comments}
        n["commit"] += len(shas)
        n["pull_request"] += len(repo.pulls)
        for issue in repo.issues.values():
            n["comment"] += len(issue.comments)
            persons |= {c.user.id for c in issue.comments}
            if issue.pull is not None:
                continue
            n["work_item"] += 1
            persons.add(issue.user.id)
            if issue.assignee:
                persons.add(issue.assignee.id)
            n["work_item_transition"] += len(issue.events)
            persons |= {e.actor.id for e in issue.events}
    n["person"] = len(persons)
    return n, persons
