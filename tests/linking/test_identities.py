"""Identity resolution rules, on accounts built by hand."""

from __future__ import annotations

from linking.identities import Account, Decision, display_name, resolve, signals_for


def acc(pid: int, kind: str, login: str | None = None, email: str | None = None, commits: tuple[str, ...] = (),
        name: str | None = None) -> Account:  # fmt: skip
    return Account(pid, kind, {"github": 1, "bitbucket": 2, "jira": 3, "aha": 4, "slack": 5}[kind], f"x{pid}",
                   login, name, signals_for(kind, login, email, commits))  # fmt: skip


def groups(accounts: list[Account], decisions: list[Decision] | None = None) -> list[dict[int, str]]:
    return [{link.person_id: link.how for link in c.links} for c in resolve(accounts, decisions or [])]


def test_verified_addresses_link_and_rules_are_as_strong_as_their_weaker_side() -> None:
    accounts = [
        acc(1, "github", "ada-l", commits=("Ada@Acme.example",)),
        acc(2, "aha", "ada@acme.example", "ada@acme.example"),
        acc(3, "jira", "Ada", "ada@acme.example"),
        acc(4, "slack", "ada", "ADA@acme.example"),
    ]
    assert groups(accounts) == [{1: "email", 2: "email", 3: "rule:jira_email", 4: "rule:slack_email"}]


def test_same_login_links_github_and_bitbucket_only() -> None:
    accounts = [
        acc(1, "github", "bliskov", commits=("b@one.example",)),
        acc(2, "bitbucket", "BLiskov", commits=("b@two.example",)),
        acc(3, "slack", "bliskov", "b@three.example"),  # a Slack handle is no login rule
    ]
    assert groups(accounts) == [{1: "rule:same_login", 2: "rule:same_login"}, {3: "single"}]
    # Two GitHub accounts (two GitHub sources) with one login are not linked by the rule.
    assert groups([accounts[0], acc(4, "github", "bliskov")]) == [{1: "single"}, {4: "single"}]


def test_profile_addresses_of_unverifying_tools_are_ignored_and_nothing_in_common_stays_apart() -> None:
    accounts = [
        acc(1, "github", "ken", "ken@acme.example"),  # a GitHub profile address: not a signal
        acc(2, "slack", "ken", "ken@acme.example"),
        acc(3, "jira", "Ken", None),  # hidden address
    ]
    assert groups(accounts) == [{1: "single"}, {2: "single"}, {3: "single"}]


def test_split_takes_an_account_out_for_good_and_merge_joins_identities() -> None:
    accounts = [
        acc(1, "aha", None, "a@x.example"),
        acc(2, "slack", "a", "a@x.example"),
        acc(3, "jira", "A", "a@x.example"),
        acc(4, "github", "zed"),
    ]
    assert groups(accounts, [Decision("split", 2)]) == [
        {1: "rule:jira_email", 3: "rule:jira_email"},
        {2: "manual"},
        {4: "single"},
    ]
    merged = groups(accounts, [Decision("split", 2), Decision("merge", 4, 1)])
    assert merged == [{1: "manual", 3: "rule:jira_email", 4: "manual"}, {2: "manual"}]
    # A split after a merge undoes the merge; the split account is linked by no rule any more.
    assert groups(accounts, [Decision("merge", 4, 2), Decision("split", 2)])[1:] == [{2: "manual"}, {4: "single"}]
    # Merged back by hand after a split: only through the decision.
    again = groups(accounts, [Decision("split", 2), Decision("merge", 2, 4)])
    assert {2: "manual", 4: "manual"} in again


def test_decided_links_say_so_and_decisions_about_unknown_people_are_ignored() -> None:
    accounts = [acc(1, "aha", None, "a@x.example"), acc(2, "github", "g")]
    clusters = resolve(accounts, [Decision("merge", 1, 2), Decision("merge", 1, 99), Decision("split", 98)])
    assert len(clusters) == 1
    assert [(x.how, x.decided_by_person, x.confidence) for x in clusters[0].links] == [
        ("manual", True, 1.0),
        ("manual", True, 1.0),
    ]


def test_display_name_is_the_most_common_then_by_tool() -> None:
    accounts = [
        acc(1, "github", "ada-l"),
        acc(2, "slack", "ada", name="ada"),
        acc(3, "jira", "x", name="Ada Lovelace"),
        acc(4, "aha", None, name="Ada Lovelace"),
    ]
    assert display_name(accounts) == "Ada Lovelace"
    assert display_name([acc(2, "slack", name="ada"), acc(3, "jira", name="Ada L")]) == "Ada L"
    assert display_name([acc(1, "github", "ada-l")]) == "ada-l"
