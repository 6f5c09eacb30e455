"""Jira in the tests shared by every connector (tests/connectors/case.py)."""

from __future__ import annotations

import base64

from connectors.jira.sandbox import make_sandbox
from tests.connectors.case import AuthForm, PartitionCase, Provider, Rejected

PROJECT = "/project/{i}"

CASE = Provider(
    kind="jira",
    sandbox=lambda: make_sandbox(projects=2, issues=10, users=4, sprints=3, versions=2),
    rejected=(
        Rejected(
            {"email": "ingest@acme.example", "api_token": "wrong-token-123"},
            ("API token", "reconnect"),
            ("API token",),
        ),
    ),
    revoked_says=("API token", "reconnect"),
    out_of_scope={"projects": "OPS*"},
    out_of_scope_says=("OPS*",),
    partition=PartitionCase(
        "versions",
        (f"{PROJECT}/versions?",),
        (f"{PROJECT}/", f"{PROJECT}?", "/project/{k}?"),
        "/rest/api/3/project/{k}",
    ),
    auth_forms=(
        AuthForm(
            {"email": "ann@example.com", "api_token": "jt0k"},
            "Basic " + base64.b64encode(b"ann@example.com:jt0k").decode(),
        ),
    ),
    identity="ingest@acme.example",
    check_details={"projects_visible": ["ALPHA", "BETA"]},
)
