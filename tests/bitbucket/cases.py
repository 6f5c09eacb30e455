"""Bitbucket in the tests shared by every connector (tests/connectors/case.py)."""

from __future__ import annotations

import base64

from connectors.bitbucket.sandbox import make_sandbox
from tests.connectors.case import AuthForm, PartitionCase, Provider, Rejected

REPO = "/repositories/{k}"

CASE = Provider(
    kind="bitbucket",
    sandbox=lambda: make_sandbox(repos=3, commits=12, pulls=6, members=5),
    base_suffix="/2.0",
    rejected=(
        Rejected({"token": "revoked-token-42"}, ("access token",)),
        Rejected(
            {"username": "dev0", "api_token": "ATBBold-app-password-xyz"},
            ("API token", "app password"),
            ("API token",),
        ),
    ),
    revoked_says=("access token",),
    out_of_scope={"workspace": "other"},
    out_of_scope_says=("'other'",),
    partition=PartitionCase("commits", (f"{REPO}/commits?",), (f"{REPO}/", f"{REPO}?"), f"/2.0{REPO}"),
    auth_forms=(
        AuthForm({"token": "bb_t0k"}, "Bearer bb_t0k"),
        AuthForm(
            {"username": "ann@example.com", "api_token": "at0k"},
            "Basic " + base64.b64encode(b"ann@example.com:at0k").decode(),
        ),
    ),
    credential_forms=("secrets", "basic_secrets"),
    says_who=False,  # workspace access tokens have no user behind them
)
