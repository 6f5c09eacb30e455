"""Work links from rows, pure: text columns per kind, Aha! integration fields, only known issues."""

from __future__ import annotations

from linking.worklinks import Catalog, Issue, aha_links, text_links

CATALOG = Catalog.of([Issue(3, "10001", "ALPHA-1"), Issue(3, "10002", "ALPHA-2")], ["ALPHA", "BETA"])


def test_pull_request_title_and_branch_commit_message_and_slack_text() -> None:
    pr = text_links("pull_request", 1, "r#1", {"title": "ALPHA-1 fix", "source_branch": "feature/ALPHA-2-x"}, CATALOG)
    assert [(x.to_external_id, x.to_key, x.how) for x in pr] == [
        ("10001", "ALPHA-1", "key_in_title"),
        ("10002", "ALPHA-2", "key_in_branch"),
    ]
    assert [x.how for x in text_links("commit", 1, "r:s", {"message": "x\n\nALPHA-2"}, CATALOG)] == ["key_in_message"]
    assert [x.how for x in text_links("branch", 1, "r:b", {"name": "ALPHA-1"}, CATALOG)] == ["key_in_branch"]
    assert [x.how for x in text_links("message", 5, "C:1", {"text": "ALPHA-1 done"}, CATALOG)] == ["mention"]


def test_keys_without_an_issue_or_project_and_other_kinds_link_nothing() -> None:
    assert text_links("pull_request", 1, "r#1", {"title": "BETA-9 UTF-8 OPS-1", "source_branch": None}, CATALOG) == []
    assert text_links("comment", 1, "c", {"body": "ALPHA-1"}, CATALOG) == []  # not a linked kind


def test_aha_integration_fields_by_key_else_by_id_of_jira_only() -> None:
    def field(name: str, value: str, service: str = "jira", integration: int = 1) -> dict[str, object]:
        return {"name": name, "value": value, "service_name": service, "integration_id": integration}

    by_key = aha_links(4, "f1", [field("url", "https://x/browse/ALPHA-1"), field("key", "ALPHA-1")], CATALOG)
    assert [(x.from_kind, x.to_external_id, x.how) for x in by_key] == [("work_item", "10001", "aha_integration")]
    assert [x.to_key for x in aha_links(4, "f2", [field("id", "10002")], CATALOG)] == ["ALPHA-2"]
    assert aha_links(4, "f3", [field("key", "ALPHA-1", service="rally")], CATALOG) == []
    assert aha_links(4, "f4", [field("key", "OPS-4")], CATALOG) == []
    assert aha_links(4, "f5", None, CATALOG) == []
    two = aha_links(4, "f6", [field("key", "ALPHA-1"), field("key", "ALPHA-2", integration=2)], CATALOG)
    assert [x.to_key for x in two] == ["ALPHA-1", "ALPHA-2"]
