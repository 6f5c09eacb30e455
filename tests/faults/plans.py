"""The fault plans of the matrix, and each provider's own answer to a revoked credential.

Revoked-credential bodies are the providers' documented / recorded shapes
(../shared/recorded/PROVIDER/error--*401*, Slack's ``*-invalid-auth`` examples): GitHub 401
``{"message": "Bad credentials"}``, Bitbucket 401 ``{"type": "error", "error": {...}}``, Jira 401
``{"errorMessages": [...]}``, Aha! 401 ``{"error": ...}``, Slack HTTP 200 ``{"ok": false, ...}``.
"""

from __future__ import annotations

import json

from tests.faults.proxy import Fault, Plan

READ_TIMEOUT_S = 0.4  # HEADWATER_HTTP_TIMEOUT_S of the matrix
STALL_S = 1.0  # past it
SPREAD = frozenset({1, 4})  # faults hit different tasks: the 2nd and 5th requests
BURST = frozenset({1, 2, 3})  # one request answered 5xx three times in a row

JSON = (("content-type", "application/json; charset=utf-8"),)


def _json(status: int, body: object, *headers: tuple[str, str]) -> Fault:
    return Fault("answer", status, json.dumps(body).encode(), JSON + tuple(headers))


TRANSIENT: dict[str, Plan] = {
    p.name: p
    for p in [
        Plan("429 Retry-After", _json(429, {"message": "rate limited"}, ("retry-after", "1")), SPREAD),
        Plan("429 bare", _json(429, {"message": "rate limited"}), SPREAD),
        Plan(
            "5xx burst",
            Fault("answer", 502, b"<html><body>502 Bad Gateway</body></html>", (("content-type", "text/html"),)),
            BURST,
        ),
        Plan("reset mid-body", Fault("reset"), SPREAD),
        Plan("stall", Fault("stall", stall_s=STALL_S), SPREAD),
        Plan("truncated JSON", Fault("truncate"), SPREAD),
    ]
}

REVOKED: dict[str, Fault] = {
    "github": _json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
    "bitbucket": _json(
        401, {"type": "error", "error": {"message": "Token is invalid, expired, or not supported for this endpoint."}}
    ),
    "jira": _json(
        401,
        {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}},
        ("www-authenticate", 'Basic realm="protected-area"'),
    ),
    "aha": _json(401, {"error": "Authentication failed: the API key is invalid or was revoked"}),
    "slack": _json(200, {"ok": False, "error": "token_revoked"}),
    "slack invalid_auth": _json(200, {"ok": False, "error": "invalid_auth"}),
}

# What the CONFIG message must name: the credential the customer has to replace.
CREDENTIAL_WORDS = {
    "github": "token",
    "bitbucket": "token",
    "jira": "API token",
    "aha": "API key",
    "slack": "token",
}

# Small sandboxes: one partition each (a repository, project, product or channel) and a few
# records, so the matrix stays fast; every run still makes 8 or more requests over several
# streams, so each plan's faults (the 2nd and 5th requests, or the 2nd to 4th) are all injected.
SANDBOXES: dict[str, dict[str, int]] = {
    "github": {"repos": 1, "commits": 12, "pulls": 4, "issues": 4, "members": 3},
    "bitbucket": {"repos": 1, "commits": 6, "pulls": 3},
    "jira": {"projects": 1, "issues": 8, "sprints": 1, "versions": 1},
    "aha": {"products": 1, "features": 4, "releases": 1, "ideas": 1, "comments": 2},
    "slack": {"channels": 1, "users": 4, "messages": 8},
}


def revoked_plan(provider: str) -> Plan:
    """Every request answered with the provider's revoked-credential error, from the first on."""
    return Plan("revoked", REVOKED[provider], from_n=0)
