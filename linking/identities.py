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

Explicit mappings (``identity_mapping``, tenant configuration an operator may script before any
data arrives) come after verified addresses and before the rules: an account named by kind and
login, address or external id is linked, with how ``mapping``, to the accounts holding an address
(and to the other accounts mapped to it), or to one account. Manual decisions beat every rule: ``split`` takes an account out of its identity for good (no
rule links it any more; only a later manual merge does), ``merge`` puts two accounts (and so
their identities) together. Bots are never part of an identity.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

EMAIL, JIRA_EMAIL, SLACK_EMAIL, SAME_LOGIN = "email", "rule:jira_email", "rule:slack_email", "rule:same_login"
MANUAL, MAPPING, SINGLE = "manual", "mapping", "single"
RANK = {MANUAL: 0, EMAIL: 1, MAPPING: 2, JIRA_EMAIL: 3, SLACK_EMAIL: 4, SAME_LOGIN: 5}
CONFIDENCE = {
    MANUAL: 1.0, EMAIL: 1.0, MAPPING: 1.0, JIRA_EMAIL: 0.9, SLACK_EMAIL: 0.85, SAME_LOGIN: 0.6, SINGLE: 1.0,
}  # fmt: skip
DECIDED = (MANUAL, MAPPING)  # links a person declared (decided_by_person)
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
    email: str | None = None

    def named(self, kind: str, value: str) -> bool:
        """Whether ``kind:value`` (a login, address or external id, any case) names this account."""
        names = {(x or "").strip().lower() for x in (self.login, self.email, self.external_id)}
        return kind == self.kind and value.strip().lower() in names - {""}


@dataclass(frozen=True)
class Mapping:
    """Account ``kind:account`` is the person with address ``to_email``, or of account ``to_person_id``."""

    kind: str
    account: str
    to_email: str | None = None
    to_person_id: int | None = None


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


def _mapping_edges(by_id: dict[int, Account], mappings: Iterable[Mapping], skip: set[int]) -> set[tuple[int, int]]:
    """Pairs an explicit mapping joins (accounts in ``skip`` take part in none)."""
    live = {pid: a for pid, a in by_id.items() if pid not in skip}
    matched_of: dict[str, set[int]] = defaultdict(set)  # "email:x" | "person:n" -> the accounts mapped to it
    anchors: dict[str, set[int]] = {}  # the same key -> the accounts already holding it
    for m in mappings:
        matched = {pid for pid, a in live.items() if a.named(m.kind, m.account)}
        if m.to_email:
            address = m.to_email.strip().lower()
            key = f"email:{address}"
            anchors[key] = {pid for pid, a in live.items() if ("email", address) in {(w, v) for w, v, _ in a.signals}}
        elif m.to_person_id is not None:
            key = f"person:{m.to_person_id}"
            anchors[key] = {m.to_person_id} & set(live)
        else:
            continue
        matched_of[key] |= matched
    pairs: set[tuple[int, int]] = set()
    for key, matched in matched_of.items():
        if not matched:
            continue
        rep = min(anchors[key] or matched)  # the holders are already one through their own signal
        pairs.update((min(rep, pid), max(rep, pid)) for pid in matched if pid != rep)
    return pairs


def resolve(
    accounts: Iterable[Account], decisions: Iterable[Decision] = (), mappings: Iterable[Mapping] = ()
) -> list[Cluster]:
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
    for pair in _mapping_edges(by_id, mappings, split):
        if pair not in edges or RANK[MAPPING] < RANK[edges[pair]]:
            edges[pair] = MAPPING
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
            links.append(Link(pid, how, CONFIDENCE[how], how in DECIDED))
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
