"""Jira keys in free text: what is a key, what only looks like one."""

from __future__ import annotations

import pytest

from linking.keys import candidates, keys_in

PROJECTS = {"ALPHA", "BETA", "GAMMA_2"}


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("ALPHA-1: fix the login redirect", ["ALPHA-1"]),
        ("feature/BETA-2-search", ["BETA-2"]),
        ("bugfix/ALPHA-3_export", ["ALPHA-3"]),
        ("[ALPHA-4] and (BETA-5), ALPHA-4 again", ["ALPHA-4", "BETA-5"]),
        ("GAMMA_2-7 has an underscore", ["GAMMA_2-7"]),
        ("Support UTF-8 file names (ISO-9001 audit)", []),  # look-alikes: no such Jira project
        ("OPS-12 rotate the deploy keys", []),  # a project the tenant's Jira does not have
        ("alpha-2 lowercase is not a key", []),
        ("Alpha-2 neither", []),
        ("see https://jira.example/browse/ALPHA-6 for context", []),  # inside a URL
        ("http://x.example/ALPHA-6?BETA-1=2 then ALPHA-7", ["ALPHA-7"]),
        ("XALPHA-1 ALPHA-1b ALPHA-01 1ALPHA-1", []),  # glued to other characters, or a leading zero
        ("", []),
        (None, []),
    ],
)
def test_keys_of_known_projects(text: str | None, keys: list[str]) -> None:
    assert keys_in(text, PROJECTS) == keys


def test_candidates_are_key_shaped_tokens_whatever_the_project() -> None:
    assert candidates("UTF-8, ISO-9001 and ALPHA-1") == ["UTF-8", "ISO-9001", "ALPHA-1"]
    assert candidates("https://a.example/UTF-8") == []
