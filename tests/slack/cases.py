"""Slack in the tests shared by every connector (tests/connectors/case.py)."""

from __future__ import annotations

from connectors.slack.sandbox import make_sandbox
from tests.connectors.case import AuthForm, PartitionCase, Provider, Rejected

CASE = Provider(
    kind="slack",
    sandbox=lambda: make_sandbox(seed=5, minute_s=0.03, channels=3, messages=12),
    base_suffix="/api",
    rejected=(Rejected({"token": "xoxb-nope"}, ("invalid_auth",)),),
    revoked_says=("token_revoked", "reinstall"),
    out_of_scope={},  # every channel the app is in is read: nothing to be out of scope of
    out_of_scope_says=(),
    partition=PartitionCase(
        "messages",
        ("/conversations.history?channel={k}&",),
        ("channel={k}",),
        "/api/conversations.info",
        "channel_not_found",
    ),
    auth_forms=(AuthForm({"token": "xoxb-t0k"}, "Bearer xoxb-t0k"),),
    keyed=("messages", "message", "channel_external_id"),
)
