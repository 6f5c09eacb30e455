"""A fake Slack Web API (``/api/<method>``) for demos, tests and benchmarks.

Like Slack: Bearer bot tokens; GET query or POST form parameters; errors as HTTP 200
``{"ok": false, "error": …}``; cursor pagination (``response_metadata.next_cursor``);
history newest first with ``oldest``/``latest``/``inclusive``; replies parent first; per
method and token rate tiers (Tier 2: 20/min, Tier 3: 50/min) answered with 429,
``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``; for a non-Marketplace app
(``app_distribution="non_marketplace"``) history and replies allow 1 request per minute and
15 messages per page. ``X-OAuth-Scopes`` on every answer, as Slack sends it.

Control: ``POST /__mutate`` with ``{"op": "edit"|"delete"|"post"|"kick"|"invite", "channel": …,
"ts"?, "text"?, "thread_ts"?}``.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.sandbox.kit import Sandbox
from connectors.sandbox.limits import SlidingWindow
from connectors.slack.sandbox_data import (
    BOT_USER,
    TEAM,
    ChannelData,
    Workspace,
    generate,
    message,
    roster_keys,
    set_thread,
    ts_of,
)

TOKEN = "xoxb-sandbox-0000-headwater"
SCOPES = "channels:read,channels:history,groups:read,groups:history,users:read,users:read.email"
TIERS = {
    "auth.test": 100,
    "users.list": 20,
    "conversations.list": 20,
    "conversations.info": 50,
    "conversations.history": 50,
    "conversations.replies": 50,
}
RESTRICTED = ("conversations.history", "conversations.replies")


def cursor_for(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def cursor_value(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return base64.b64decode(raw.encode(), validate=True).decode()
    except ValueError:
        return "invalid"


class SlackSandbox(Sandbox):
    provider = "slack"

    def __init__(
        self,
        *,
        seed: int = 7,
        latency_ms: float = 0.0,
        minute_s: float = 60.0,
        app_distribution: str = "internal",
        **size: Any,
    ) -> None:
        super().__init__(seed=seed, latency_ms=latency_ms)
        self.workspace: Workspace = generate(seed, **size)
        self.app_distribution = app_distribution
        self.restricted = app_distribution == "non_marketplace"
        self.limits = {
            m: SlidingWindow(1 if self.restricted and m in RESTRICTED else n, minute_s) for m, n in TIERS.items()
        }
        self._seq = 0

    # -- kit hooks ---------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        ws = self.workspace
        readable = ws.readable()
        messages = sum(
            sum(1 for m in c.messages if m.get("subtype") != "tombstone") + sum(len(r) for r in c.replies.values())
            for c in readable
        )
        return {
            "options": {"base_url": "/api", "app_distribution": self.app_distribution},
            "secrets": {"token": TOKEN},
            "counts": {"person": len(ws.users), "channel": len(ws.channels), "message": messages},
            # human accounts loaded -> shared-world roster key; messages naming a Jira key
            "accounts": roster_keys(ws),
            "references": list(ws.planted),
        }

    def error_response(self, kind: str, request: Request) -> Response:
        if kind == "revoked":
            return self._error("token_revoked")
        if kind == "missing":
            return self._error("channel_not_found")
        if kind in ("rate", "secondary"):
            retry = max(0, int(self.faults.retry_after_s))
            return JSONResponse({"ok": False, "error": "ratelimited"}, 429, headers={"Retry-After": str(retry)})
        return JSONResponse({"ok": False, "error": "service_unavailable"}, 503)

    def is_api_path(self, path: str) -> bool:
        return path.startswith("/api/")

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/{method}", self._api, methods=["GET", "POST"]),
            Route("/__mutate", self._mutate, methods=["POST"]),
        ]

    # -- plumbing ----------------------------------------------------------------------------
    @staticmethod
    def _ok(body: Mapping[str, Any]) -> JSONResponse:
        return JSONResponse({"ok": True, **body}, headers={"X-OAuth-Scopes": SCOPES, "X-Accepted-OAuth-Scopes": ""})

    @staticmethod
    def _error(error: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"ok": False, "error": error, **extra}, headers={"X-OAuth-Scopes": SCOPES})

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        params: dict[str, str] = dict(request.query_params)
        if request.method == "POST":
            params.update({k: str(v) for k, v in (await request.form()).items()})
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() if header else params.get("token", "")
        if not token:
            return self._error("not_authed")
        if token != TOKEN:
            return self._error("invalid_auth")
        handler = {
            "auth.test": self._auth_test,
            "users.list": self._users,
            "conversations.list": self._conversations,
            "conversations.info": self._info,
            "conversations.history": self._history,
            "conversations.replies": self._replies,
        }.get(method)
        if handler is None:
            return self._error("unknown_method")
        verdict = self.limits[method].hit(token)
        if not verdict.allowed:
            return JSONResponse(
                {"ok": False, "error": "ratelimited"}, 429, headers={"Retry-After": str(verdict.retry_after_s)}
            )
        return handler(params)

    def _limit(self, params: Mapping[str, str], default: int, maximum: int, restricted: bool = False) -> int:
        try:
            limit = int(params.get("limit") or default)
        except ValueError:
            limit = default
        if restricted and self.restricted:
            return min(max(1, limit), 15)
        return min(max(1, limit), maximum)

    def _offset_page(self, key: str, items: list[dict[str, Any]], params: Mapping[str, str], default: int) -> Response:
        raw = cursor_value(params.get("cursor"))
        if raw is not None and not raw.startswith("offset:"):
            return self._error("invalid_cursor")
        start = int(raw.split(":", 1)[1]) if raw else 0
        limit = self._limit(params, default, 1000)
        chunk = items[start : start + limit]
        nxt = cursor_for(f"offset:{start + limit}") if start + limit < len(items) else ""
        return self._ok({key: chunk, "response_metadata": {"next_cursor": nxt}})

    def _channel(self, params: Mapping[str, str]) -> ChannelData | Response:
        data = self.workspace.channel(params.get("channel", ""))
        if data is None or (data.info["is_private"] and not data.info["is_member"]):
            return self._error("channel_not_found")
        if not data.info["is_member"]:
            return self._error("not_in_channel")
        return data

    # -- methods -----------------------------------------------------------------------------
    def _auth_test(self, params: Mapping[str, str]) -> Response:
        return self._ok(
            {
                "url": "https://sandbox.slack.com/",
                "team": "Sandbox",
                "user": "headwater",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "B0BOTHW01",
                "is_enterprise_install": False,
            }
        )

    def _users(self, params: Mapping[str, str]) -> Response:
        return self._offset_page("members", self.workspace.users, params, 200)

    def _conversations(self, params: Mapping[str, str]) -> Response:
        types = set((params.get("types") or "public_channel").split(","))
        archived_too = params.get("exclude_archived", "false").lower() != "true"
        out = []
        for c in self.workspace.channels:
            info = c.info
            kind = "private_channel" if info["is_private"] else "public_channel"
            if kind not in types or (info["is_private"] and not info["is_member"]):
                continue
            if info["is_archived"] and not archived_too:
                continue
            out.append(info)
        return self._offset_page("channels", out, params, 100)

    def _info(self, params: Mapping[str, str]) -> Response:
        data = self.workspace.channel(params.get("channel", ""))
        if data is None or (data.info["is_private"] and not data.info["is_member"]):
            return self._error("channel_not_found")  # as Slack: a private channel is hidden from non-members
        return self._ok({"channel": data.info})

    def _history(self, params: Mapping[str, str]) -> Response:
        data = self._channel(params)
        if isinstance(data, Response):
            return data
        inclusive = params.get("inclusive", "false").lower() in ("true", "1")
        oldest = float(params.get("oldest") or 0)
        latest = float(params["latest"]) if params.get("latest") else None
        raw = cursor_value(params.get("cursor"))
        if raw is not None and not raw.startswith("next_ts:"):
            return self._error("invalid_cursor")
        before = float(raw.split(":", 1)[1]) if raw else None

        def shown(m: dict[str, Any]) -> bool:
            t = float(m["ts"])
            above = t >= oldest if inclusive else t > oldest
            below = latest is None or (t <= latest if inclusive else t < latest)
            return above and below and (before is None or t < before)

        newest_first = sorted((m for m in data.messages if shown(m)), key=lambda m: float(m["ts"]), reverse=True)
        limit = self._limit(params, 100, 999, restricted=True)
        page, more = newest_first[:limit], len(newest_first) > limit
        nxt = cursor_for(f"next_ts:{page[-1]['ts']}") if more else ""
        return self._ok({"messages": page, "has_more": more, "pin_count": 0, "response_metadata": {"next_cursor": nxt}})

    def _replies(self, params: Mapping[str, str]) -> Response:
        data = self._channel(params)
        if isinstance(data, Response):
            return data
        ts = params.get("ts", "")
        parent = next((m for m in data.messages if m["ts"] == ts), None)
        if parent is None:
            return self._error("thread_not_found")
        thread = [parent, *data.replies.get(ts, [])]
        raw = cursor_value(params.get("cursor"))
        if raw is not None and not raw.startswith("offset:"):
            return self._error("invalid_cursor")
        start = int(raw.split(":", 1)[1]) if raw else 0
        limit = self._limit(params, 1000, 1000, restricted=True)
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        nxt = cursor_for(f"offset:{start + limit}") if more else ""
        return self._ok({"messages": page, "has_more": more, "response_metadata": {"next_cursor": nxt}})

    # -- control -----------------------------------------------------------------------------
    def _now_ts(self) -> str:
        self._seq += 1
        return ts_of(time.time(), self._seq)

    async def _mutate(self, request: Request) -> Response:
        body = await request.json()
        op = body.get("op")
        with self._lock:
            data = self.workspace.channel(str(body.get("channel", "")))
            if data is None:
                return JSONResponse({"error": "unknown channel"}, 404)
            if op in ("kick", "invite"):
                data.info["is_member"] = op == "invite"
                return JSONResponse({"channel": data.info})
            if op == "post":
                msg = message(self._now_ts(), str(body.get("user", "U00000001")), str(body.get("text", "hello")))
                thread_ts = body.get("thread_ts")
                if thread_ts:
                    parent = next((m for m in data.messages if m["ts"] == thread_ts), None)
                    if parent is None:
                        return JSONResponse({"error": "unknown thread"}, 404)
                    msg["thread_ts"] = thread_ts
                    data.replies.setdefault(thread_ts, []).append(msg)
                    set_thread(parent, data.replies[thread_ts])
                else:
                    data.messages.append(msg)
                return JSONResponse({"message": msg})
            target = data.find(str(body.get("ts", "")))
            if target is None:
                return JSONResponse({"error": "unknown message"}, 404)
            if op == "edit":
                target["text"] = str(body.get("text", ""))
                target["edited"] = {"user": target.get("user", BOT_USER), "ts": self._now_ts()}
                return JSONResponse({"message": target})
            if op == "delete":
                return JSONResponse(self._delete(data, target))
        return JSONResponse({"error": f"unknown op {op!r}"}, 400)

    @staticmethod
    def _delete(data: ChannelData, target: dict[str, Any]) -> dict[str, Any]:
        ts = target["ts"]
        if data.replies.get(ts):  # a parent with live replies stays as a tombstone
            for key in ("user", "blocks", "edited", "bot_id"):
                target.pop(key, None)
            target.update(
                {"subtype": "tombstone", "text": "This message was deleted.", "hidden": True, "user": "USLACKBOT"}
            )
            return {"tombstone": target}
        if target in data.messages:
            data.messages.remove(target)
        for parent_ts, thread in data.replies.items():
            if target in thread:
                thread.remove(target)
                parent = next((m for m in data.messages if m["ts"] == parent_ts), None)
                if parent is not None:
                    set_thread(parent, thread)
        return {"deleted": ts}


def make_sandbox(seed: int = 7, latency_ms: float = 0, **size: Any) -> SlackSandbox:
    return SlackSandbox(seed=seed, latency_ms=latency_ms, **size)
