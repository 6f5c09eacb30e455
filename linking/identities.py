"""Identity resolution: which person rows (accounts) across a tenant's sources are one human.

Pure: accounts and decisions in, clusters out. Accounts carry *signals*: an address or a login
with how far it can be trusted. Two accounts with the same signal value are linked; the link is
as strong as the weaker side's signal. In order of trust:

``email``            a verified address: Aha! (accounts are addresses), and the addresses of
                     commits GitHub or Bitbucket attributed to the account (both attribute a
                     commit only through an address verified on that account)
``rule:jira_email``  a Jira account's address, where the site shows it
``rule:slack_email`` a Slack profile address
``rule:same_login``  the same login in GitHub and Bitbucket (case-insensitive)

Manual decisions beat every rule: ``split`` takes an account out of its identity for good (no
rule links it any more; only a later manual merge does), ``merge`` puts two accounts (and so
their identities) together. Bots are never part of an identity.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

EMAIL, JIRA_EMAIL, SLACK_EMAIL, SAME_LOGIN = "email", "rule:jira_email", "rule:slack_email", "rule:same_login"
MANUAL, SINGLE = "manual", "single"
RANK = {MANUAL: 0, EMAIL: 1, JIRA_EMAIL: 2, SLACK_EMAIL: 3, SAME_LOGIN: 4}
CONFIDENCE = {MANUAL: 1.0, EMAIL: 1.0, JIRA_EMAIL: 0.9, SLACK_EMAIL: 0.85, SAME_LOGIN: 0.6, SINGLE: 1.0}
PROFILE_EMAIL = {"aha": EMAIL, "jira": JIRA_EMAIL, "slack": SLACK_EMAIL}  # kind -> how its person.email counts
COMMIT_EMAIL_KINDS = ("github", "bitbucket")  # providers that attribute commits by verified address
LOGIN_KINDS = ("github", "bitbucket")
NAME_PREFERENCE = ("jira", "aha", "slack", "bitbucket", "github")


@dataclass(frozen=True)
class Account:
    person_id: int
    kind: str
    source_id: int
    external_id: str
    login: str | None = None
    display_name: str | None = None
    signals: tuple[tuple[str, str, str], ...] = ()  # (what: "email"|"login", value, how)


@dataclass(frozen=True)
class Decision:
    kind: str  # "merge" | "split"
    person_id: int
    other_person_id: int | None = None


@dataclass(frozen=True)
class Link:
    person_id: int
    how: str
    confidence: float
    decided_by_person: bool


@dataclass(frozen=True)
class Cluster:
    display_name: str | None
    links: tuple[Link, ...]  # sorted by person id

    @property
    def person_ids(self) -> frozenset[int]:
        return frozenset(link.person_id for link in self.links)


def signals_for(kind: str, login: str | None, email: str | None, commit_emails: Iterable[str] = ()) -> tuple[
    tuple[str, str, str], ...
]:  # fmt: skip
    """The signals of one account of ``kind`` (its profile address, login, attributed commit addresses)."""
    out: set[tuple[str, str, str]] = set()
    if email and kind in PROFILE_EMAIL:
        out.add(("email", email.strip().lower(), PROFILE_EMAIL[kind]))
    if kind in COMMIT_EMAIL_KINDS:
        out |= {("email", e.strip().lower(), EMAIL) for e in commit_emails if e and e.strip()}
    if login and kind in LOGIN_KINDS:
        out.add(("login", login.strip().lower(), SAME_LOGIN))
    return tuple(sorted(out))


def _weaker(a: str, b: str) -> str:
    return a if RANK[a] >= RANK[b] else b


class _Sets:
    """Union-find over person ids."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.parent = {i: i for i in ids}

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def resolve(accounts: Iterable[Account], decisions: Iterable[Decision] = ()) -> list[Cluster]:
    """Clusters of accounts, each one identity, ordered by their smallest person id."""
    by_id = {a.person_id: a for a in accounts}
    decisions = [d for d in decisions if d.person_id in by_id]
    split = {d.person_id for d in decisions if d.kind == "split"}
    merges: list[tuple[int, int]] = []
    for n, d in enumerate(decisions):
        other = d.other_person_id
        if d.kind != "merge" or other is None or other not in by_id:
            continue
        later = decisions[n + 1 :]
        if any(x.kind == "split" and x.person_id in (d.person_id, other) for x in later):
            continue  # undone by a later split
        merges.append((d.person_id, other))
    # Automatic edges: accounts sharing a signal value (split accounts take part in none).
    holders: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for a in by_id.values():
        if a.person_id in split:
            continue
        for what, value, how in a.signals:
            holders[(what, value)].append((a.person_id, how))
    edges: dict[tuple[int, int], str] = {}
    for (what, _), found in holders.items():
        for i, (p, how_p) in enumerate(found):
            for q, how_q in found[i + 1 :]:
                if p == q or (what == "login" and by_id[p].kind == by_id[q].kind):
                    continue  # the login rule links GitHub to Bitbucket, not two accounts of one kind
                pair = (min(p, q), max(p, q))
                how = _weaker(how_p, how_q)
                if pair not in edges or RANK[how] < RANK[edges[pair]]:
                    edges[pair] = how
    for p, q in merges:
        edges[(min(p, q), max(p, q))] = MANUAL
    sets = _Sets(by_id)
    for p, q in edges:
        sets.union(p, q)
    members: dict[int, list[int]] = defaultdict(list)
    for pid in sorted(by_id):
        members[sets.find(pid)].append(pid)
    best: dict[int, str] = {}
    for (p, q), how in edges.items():
        for x in (p, q):
            if x not in best or RANK[how] < RANK[best[x]]:
                best[x] = how
    clusters = []
    for ids in sorted(members.values()):
        links = []
        for pid in ids:
            how = best.get(pid, MANUAL if pid in split else SINGLE)
            links.append(Link(pid, how, CONFIDENCE[how], how == MANUAL))
        clusters.append(Cluster(display_name([by_id[i] for i in ids]), tuple(links)))
    return clusters


def display_name(accounts: list[Account]) -> str | None:
    """The most common display name among the accounts (ties: Jira, Aha!, Slack, Bitbucket, GitHub);
    else a login."""
    names = Counter(a.display_name.strip() for a in accounts if a.display_name and a.display_name.strip())
    if names:

        def order(name: str) -> tuple[int, int]:
            kinds = [a.kind for a in accounts if a.display_name and a.display_name.strip() == name]
            pref = min((NAME_PREFERENCE.index(k) for k in kinds if k in NAME_PREFERENCE), default=len(NAME_PREFERENCE))
            return (-names[name], pref)

        return min(names, key=order)
    return next((a.login for a in accounts if a.login), None)
