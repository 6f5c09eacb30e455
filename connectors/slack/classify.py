"""Slack's reading of HTTP responses, on top of the shared classification.

Slack reports most errors as HTTP 200 with ``{"ok": false, "error": "<code>"}``:

* the token is unusable (``invalid_auth``, ``not_authed``, ``account_inactive``,
  ``token_revoked``, ``token_expired``…) -> CONFIG: reconnect with a new token;
* the token may not read one channel (``not_in_channel``, ``channel_not_found``,
  ``missing_scope`` naming the scope ``needed``) -> CONFIG for that channel's task only;
  ``channel_not_found`` is a "not found": on a channel's history the runner asks
  ``conversations.info`` whether the channel itself is gone (then it is tombstoned);
* ``ratelimited`` (HTTP 429 with ``Retry-After``), ``internal_error``, ``service_unavailable``
  -> TRANSIENT;
* ``thread_not_found`` (a thread deleted between reading history and its replies) -> OK with
  no messages, so the replies of other threads are still read;
* anything else -> BUG (a request this connector should not have made).

A 200 body that is not JSON is left to the HTTP client, which retries it as TRANSIENT.
"""

from __future__ import annotations

from typing import Any

import httpx

from connectors.errors import ErrorKind
from connectors.http.classify import OK, Verdict, classify_response, retry_after_seconds

RECONNECT = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "org_login_required",
    "ekm_access_denied",
    "team_access_not_granted",
    "two_factor_setup_required",
}
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
EMPTY = {"thread_not_found"}


def _body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _channel(response: httpx.Response) -> str:
    try:
        channel = response.request.url.params.get("channel")
    except RuntimeError:  # a response built without its request (tests)
        channel = None
    return f"channel {channel}" if channel else "this channel"


def classify_slack(response: httpx.Response) -> Verdict:
    if response.status_code != 200:
        verdict = classify_response(response)
        if response.status_code == 429 and verdict.retry_after is None:
            return Verdict(ErrorKind.TRANSIENT, "rate limited by Slack (429)", 60.0)
        return verdict
    body = _body(response)
    if body is None or body.get("ok") is not False:
        return OK
    error = str(body.get("error") or "unknown_error")
    if error in RECONNECT:
        return Verdict(
            ErrorKind.CONFIG,
            f"Slack rejected the token ({error}): the app was uninstalled, the token revoked or the account "
            "deactivated; reinstall the Slack app and reconnect the source with its new bot token",
            status=401,  # the credential is refused: the source's credentials are invalid
        )
    if error == "not_in_channel":
        return Verdict(
            ErrorKind.CONFIG,
            f"the Slack app is not a member of {_channel(response)}: invite it (/invite @your-app) "
            "or remove the channel from the source's `channels` option",
        )
    if error == "channel_not_found":
        return Verdict(
            ErrorKind.CONFIG,
            f"Slack cannot find {_channel(response)} for this token: it was deleted, or it is private and the "
            "app was never invited; invite the app or remove the channel from the `channels` option",
            not_found=True,
        )
    if error == "missing_scope":
        needed = body.get("needed") or "a scope"
        return Verdict(
            ErrorKind.CONFIG,
            f"the Slack token lacks the scope {needed} (it has: {body.get('provided') or 'unknown'}): add it to the "
            "app's bot token scopes, reinstall the app and reconnect the source",
        )
    if error in TRANSIENT:
        return Verdict(ErrorKind.TRANSIENT, f"Slack is busy ({error})", retry_after_seconds(response))
    if error in EMPTY:
        return OK
    return Verdict(ErrorKind.BUG, f"Slack refused the request ({error})")
