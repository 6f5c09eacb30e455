"""One world for the five sandboxes: the people they share and the cross-references they plant.

Each provider's sandbox draws its accounts from :data:`ROSTER` (in roster order, as many as its
size asks for; extra accounts beyond the roster get addresses on a domain of their own, so they
never match anything) and plants the references of :data:`PLAN` into its generated data. The
sandboxes stay deterministic: nothing here is random.

The roster covers what identity resolution must get right:

* the same address everywhere (one identity across all five tools);
* a hidden Jira e-mail (that Jira account stays on its own);
* the same login in GitHub and Bitbucket but different commit e-mails (linked by the rule);
* nothing in common (one identity per account);
* a different case in an address (still one identity).

``expected_identities`` and ``expected_links`` (used by each sandbox's ``/__truth`` and by
:func:`combined_truth`) state what must come out, from the plan itself, not from the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("github", "bitbucket", "jira", "aha", "slack")


@dataclass(frozen=True)
class Member:
    """One person of the shared world and their account in each tool (None: no account there).

    ``groups`` is the plan: which of their accounts must end up as one identity, and ``how``
    says how each account is expected to be linked (``single`` for an account on its own)."""

    key: str
    name: str
    github: tuple[str, str] | None = None  # (login, commit e-mail)
    bitbucket: tuple[str, str] | None = None  # (nickname, commit e-mail)
    jira: str | bool | None = None  # e-mail (visible), False: account with a hidden e-mail, None: none
    aha: str | None = None  # e-mail (Aha! accounts are e-mail addresses)
    slack: tuple[str, str] | None = None  # (handle, profile e-mail)
    groups: tuple[frozenset[str], ...] = ()
    how: dict[str, str] = field(default_factory=dict)

    def has(self, kind: str) -> bool:
        value = getattr(self, kind)
        return value is not None


def _all(*kinds: str) -> frozenset[str]:
    return frozenset(kinds)


E, SLACK, JIRA, LOGIN, ONE = "email", "rule:slack_email", "rule:jira_email", "rule:same_login", "single"

ROSTER: tuple[Member, ...] = (
    Member(
        "ada", "Ada Lovelace", github=("ada-l", "ada@acme.example"), bitbucket=("ada", "ada@acme.example"),
        jira="ada@acme.example", aha="ada@acme.example", slack=("ada", "ada@acme.example"),
        groups=(_all(*KINDS),), how={"github": E, "bitbucket": E, "jira": JIRA, "aha": E, "slack": SLACK},
    ),
    Member(
        "grace", "Grace Hopper", github=("ghopper", "grace@acme.example"), bitbucket=("ghopper", "grace@acme.example"),
        jira=False, aha="grace@acme.example", slack=("grace", "grace@acme.example"),
        groups=(_all("github", "bitbucket", "aha", "slack"), _all("jira")),
        how={"github": E, "bitbucket": E, "jira": ONE, "aha": E, "slack": SLACK},
    ),
    Member(
        "alan", "Alan Turing", github=("aturing", "alan@acme.example"), bitbucket=("alan.t", "alan@acme.example"),
        jira="alan@acme.example", aha="Alan@Acme.example", slack=("alan", "alan@acme.example"),
        groups=(_all(*KINDS),), how={"github": E, "bitbucket": E, "jira": JIRA, "aha": E, "slack": SLACK},
    ),
    Member(
        "barbara", "Barbara Liskov", github=("bliskov", "barbara@users.noreply.github.example"),
        bitbucket=("bliskov", "b.liskov@home.example"), jira="barbara@acme.example", aha="barbara@acme.example",
        slack=("barbara", "barbara@acme.example"),
        groups=(_all("github", "bitbucket"), _all("jira", "aha", "slack")),
        how={"github": LOGIN, "bitbucket": LOGIN, "jira": JIRA, "aha": JIRA, "slack": SLACK},
    ),
    Member(
        "edsger", "Edsger Dijkstra", github=("ewd", "ewd@cs.example"), bitbucket=("ewd", "dijkstra@mail.example"),
        groups=(_all("github", "bitbucket"),), how={"github": LOGIN, "bitbucket": LOGIN},
    ),
    Member(
        "ken", "Ken Thompson", github=("ken", "ken@unix.example"), bitbucket=("kthompson", "kt@bell.example"),
        jira=False, aha="ken.t@acme.example", slack=("ken", "ken@acme.example"),
        groups=(_all("github"), _all("bitbucket"), _all("jira"), _all("aha"), _all("slack")),
        how=dict.fromkeys(KINDS, ONE),
    ),
    Member(
        "frances", "Frances Allen", jira="frances@acme.example", aha="frances@acme.example",
        slack=("frances", "frances@acme.example"), groups=(_all("jira", "aha", "slack"),),
        how={"jira": JIRA, "aha": JIRA, "slack": SLACK},
    ),
    Member(
        "radia", "Radia Perlman", jira="radia@acme.example", aha="radia@acme.example",
        slack=("radia", "radia@acme.example"), groups=(_all("jira", "aha", "slack"),),
        how={"jira": JIRA, "aha": JIRA, "slack": SLACK},
    ),
    Member(
        "linus", "Linus Torvalds", jira=False, aha="linus@acme.example", slack=("linus", "linus@acme.example"),
        groups=(_all("aha", "slack"), _all("jira")), how={"jira": ONE, "aha": SLACK, "slack": SLACK},
    ),
    Member(
        "margaret", "Margaret Hamilton", aha="margaret@acme.example", slack=("margaret", "margaret@acme.example"),
        groups=(_all("aha", "slack"),), how={"aha": SLACK, "slack": SLACK},
    ),
    Member(
        "tim", "Tim Berners-Lee", aha="tim@acme.example", slack=("tim", "tim@acme.example"),
        groups=(_all("aha", "slack"),), how={"aha": SLACK, "slack": SLACK},
    ),
    Member(
        "anita", "Anita Borg", aha="anita@acme.example", slack=("anita", "anita@w3.example"),
        groups=(_all("aha"), _all("slack")), how={"aha": ONE, "slack": ONE},
    ),
)  # fmt: skip


def members_of(kind: str) -> list[Member]:
    """The roster members with an account in ``kind``, in roster order."""
    return [m for m in ROSTER if m.has(kind)]


def member_for(kind: str, index: int) -> Member | None:
    """The roster member behind account ``index`` of a sandbox of ``kind`` (None: an extra account)."""
    found = members_of(kind)
    return found[index] if index < len(found) else None


# -- cross-references -------------------------------------------------------------------------
# Jira keys are planted as (project index, issue number): the Jira sandbox names its projects
# ALPHA, BETA, GAMMA … in order, so (0, 2) is ALPHA-2. Every planted key names an issue the
# default Jira sandbox has; ``expected_links`` keeps only those the Jira world actually holds.
JIRA_PROJECT_KEYS = ("ALPHA", "BETA", "GAMMA", "DELTA", "EPSILON", "ZETA", "ETA", "THETA")


def jira_key(project: int, number: int) -> str:
    return f"{JIRA_PROJECT_KEYS[project]}-{number}"


@dataclass(frozen=True)
class Plan:
    """Texts planted in the sandboxes. ``{k}`` placeholders are planted keys; every other
    key-like token in them must not link (foreign projects, look-alikes, lowercase, URLs)."""

    # GitHub, first repository: pull request titles (by index in number order), head branches, commit messages
    github_pr_titles: tuple[tuple[int, str, tuple[int, int] | None], ...] = (
        (0, "ALPHA-1: fix the login redirect", (0, 1)),
        (1, "Support UTF-8 file names (ISO-9001 audit)", None),
        (2, "OPS-12 rotate the deploy keys", None),
        (3, "alpha-2 lowercase is not a key", None),
    )
    github_branch: tuple[int, str, tuple[int, int]] = (4, "feature/BETA-2-search", (1, 2))
    github_commit_messages: tuple[tuple[int, str, tuple[int, int] | None], ...] = (
        (0, "GAMMA-3 tidy the exporter\n\nSee https://jira.example/browse/ALPHA-4 too.", (2, 3)),
        (1, "Bump SHA-256 helper, see RFC-2616", None),
    )
    # Bitbucket, first repository: pull requests by id, commits in history order
    bitbucket_pr_titles: tuple[tuple[int, str, tuple[int, int] | None], ...] = (
        (1, "BETA-1 speed up the cache", (1, 1)),
        (2, "Refactor login for INFRA-7", None),
    )
    bitbucket_branch: tuple[int, str, tuple[int, int]] = (3, "bugfix/ALPHA-3-export", (0, 3))
    bitbucket_commit_messages: tuple[tuple[int, str, tuple[int, int] | None], ...] = (
        (1, "ALPHA-1 follow-up: handle the empty case", (0, 1)),
    )
    # Slack, first readable channel: top-level messages by index
    slack_messages: tuple[tuple[int, str, tuple[int, int] | None], ...] = (
        (0, "deploying the fix for ALPHA-1 now", (0, 1)),
        (2, "anyone looked at GAMMA-2? also UTF-8 again", (2, 2)),
        (4, "OPS-12 is done", None),
    )
    # Aha!, first product: features by index -> the Jira issue they are integrated with
    aha_integrations: tuple[tuple[int, tuple[int, int] | str], ...] = (
        (0, (0, 2)),
        (1, (1, 3)),
        (2, "OPS-4"),  # integrated with a project this tenant's Jira does not have
    )


PLAN = Plan()


def aha_integration_fields(key: str, record_id: str) -> list[dict[str, object]]:
    """Aha!'s ``integration_fields`` of a record integrated with Jira issue ``key``, as the Aha! API
    returns them on a feature (one entry per field of the integration; the real API adds the
    issue's ``id`` too, which the sandbox cannot know: the Jira sandbox is sized on its own)."""
    base = {"integration_id": 204584239, "service_name": "jira", "created_at": "2024-01-01T00:00:00.000Z"}
    return [
        {"id": f"{record_id}1", "name": "url", "value": f"https://acme.atlassian.net/browse/{key}", **base},
        {"id": f"{record_id}2", "name": "key", "value": key, **base},
    ]


# -- the truth ---------------------------------------------------------------------------------
Account = tuple[str, str]  # (kind, external id)


def expected_identities(accounts: dict[str, dict[str, str | None]]) -> list[dict[str, object]]:
    """The identities a tenant with these sources must end up with.

    ``accounts[kind]`` maps each human account the source loads (external id) to its roster key
    (None: an extra account). Roster members are grouped by the plan; every other account is an
    identity of its own. Returns ``[{"accounts": [[kind, external_id], ...], "how": {...}}]``."""
    out: list[dict[str, object]] = []
    by_member: dict[str, dict[str, list[str]]] = {}
    for kind, ids in accounts.items():
        for ext, key in ids.items():
            if key is None:
                out.append({"accounts": [[kind, ext]], "how": {f"{kind}:{ext}": ONE}})
            else:
                by_member.setdefault(key, {}).setdefault(kind, []).append(ext)
    for member in ROSTER:
        present = by_member.get(member.key, {})
        for group in member.groups:
            accs = sorted([k, ext] for k in group for ext in present.get(k, []))
            if not accs:
                continue
            how = {f"{k}:{ext}": (member.how[k] if len(accs) > 1 else ONE) for k, ext in accs}
            out.append({"accounts": accs, "how": how})
    out.sort(key=lambda i: str(i["accounts"]))
    return out


def expected_links(truths: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    """The work links a tenant with one source per kind must end up with: every planted reference
    whose key names an issue the Jira sandbox has (a tenant without Jira links nothing)."""
    jira = truths.get("jira", {})
    issues = jira.get("issues", {}) if isinstance(jira, dict) else {}
    assert isinstance(issues, dict)
    out: list[dict[str, object]] = []
    for truth in truths.values():
        refs = truth.get("references", [])
        assert isinstance(refs, list)
        for ref in refs:
            if ref["key"] in issues:
                out.append(
                    {
                        "from": {"kind": ref["kind"], "external_id": ref["external_id"]},
                        "to": {"kind": "work_item", "external_id": issues[ref["key"]]},
                        "how": ref["how"],
                    }
                )
    out.sort(key=str)
    return out


def combined_truth(truths: dict[str, dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    """``{"identities", "links"}`` expected of a tenant reading these sandboxes (their ``/__truth``)."""
    accounts: dict[str, dict[str, str | None]] = {}
    for kind, truth in truths.items():
        found = truth.get("accounts", {})
        assert isinstance(found, dict)
        accounts[kind] = found
    return {"identities": expected_identities(accounts), "links": expected_links(truths)}
