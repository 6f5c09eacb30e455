"""Aha! in the tests shared by every connector (tests/connectors/case.py)."""

from __future__ import annotations

from connectors.aha.sandbox import make_sandbox
from tests.connectors.case import AuthForm, PartitionCase, Provider, Rejected

CASE = Provider(
    kind="aha",
    sandbox=lambda: make_sandbox(seed=11, minute_s=0.03, products=2, features=10),
    rejected=(Rejected({"token": "not-the-key"}, ("401",)),),
    revoked_says=("API key", "reconnect"),
    out_of_scope={"products": "NOPE*"},
    out_of_scope_says=("NOPE*",),
    partition=PartitionCase(
        "releases", ("/products/{k}/releases?",), ("/products/{k}/", "/products/{k}?"), "/api/v1/products/{k}"
    ),
    auth_forms=(AuthForm({"token": "aha_t0k"}, "Bearer aha_t0k"),),
    keyed=("features", "work_item", "project_external_id"),
)
