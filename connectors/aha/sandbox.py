"""A fake Aha! API (``/api/v1``) for demos, tests and benchmarks.

Like Aha!: Bearer API keys; ``page``/``per_page`` (default 30, max 200) with a ``pagination``
object; compact list records unless ``fields`` names the fields to return; ``updated_since``
on features, epics and ideas; 300 requests per minute and 20 per second per key, with
``X-Ratelimit-*`` headers and 429 + ``Retry-After`` beyond them; ``{"error": ...}`` bodies.

Extra control endpoint: ``POST /__mutate`` with ``{"op": "update_feature", "id": .., "name"?,
"status"?}`` or ``{"op": "add_feature", "product": "PRJ1", "name": ..}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from connectors.aha.sandbox_data import STATUSES, Account, Product, generate, roster_keys, stamp
from connectors.sandbox.kit import Sandbox
from connectors.sandbox.limits import SlidingWindow, Verdict

TOKEN = "aha-sandbox-key"
COMPACT = {
    "features": ("id", "reference_num", "name", "created_at", "url", "resource", "product_id"),
    "epics": ("id", "reference_num", "name", "created_at", "url", "resource"),
    "ideas": ("id", "reference_num", "name", "created_at", "updated_at", "workflow_status", "description", "url", "resource"),
    "releases": (
        "id", "reference_num", "name", "start_date", "release_date", "parking_lot", "created_at", "product_id",
        "integration_fields", "url", "resource", "owner", "project",
    ),
}  # fmt: skip
INCREMENTAL = {"features", "epics", "ideas"}


def parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class AhaSandbox(Sandbox):
    provider = "aha"

    def __init__(self, *, seed: int = 7, latency_ms: float = 0.0, minute_s: float = 60.0, **size: Any) -> None:
        super().__init__(seed=seed, latency_ms=latency_ms)
        self.size = size
        self.account: Account = generate(seed, **size)
        self.per_minute = SlidingWindow(300, minute_s)
        self.per_second = SlidingWindow(20, minute_s / 60)

    # -- kit hooks ---------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        a = self.account
        work_items = sum(len(p.features) + len(p.epics) + len(p.initiatives) + len(p.ideas) for p in a.products)
        work_items += sum(len(reqs) for reqs in a.requirements.values())
        people = set(a.users) | {u for p in a.products for u in p.users}
        return {
            "options": {"products": "*"},
            "secrets": {"token": TOKEN},
            "counts": {
                "project": len(a.products),
                "release": sum(len(p.releases) for p in a.products),
                "work_item": work_items,
                "person": len(people),
                "comment": sum(len(p.comments) for p in a.products),
            },
            # human accounts loaded -> shared-world roster key; records naming a Jira key
            "accounts": roster_keys(a),
            "references": list(a.planted),
        }

    def error_response(self, kind: str, request: Request) -> Response:
        if kind == "revoked":
            return JSONResponse({"error": "Authentication failed: the API key is invalid or was revoked"}, 401)
        if kind in ("rate", "secondary"):
            retry = max(0, int(self.faults.retry_after_s))
            return JSONResponse(
                {"error": "Rate limit exceeded"},
                429,
                headers={"Retry-After": str(retry), "X-Ratelimit-Limit": "300", "X-Ratelimit-Remaining": "0"},
            )
        if kind == "missing":
            return self._not_found()
        return JSONResponse({"error": "Bad gateway"}, 502)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v1/me", self._me),
            Route("/api/v1/users", self._users),
            Route("/api/v1/products", self._products),
            Route("/api/v1/products/{ref}", self._product),
            Route("/api/v1/products/{ref}/users", self._product_users),
            Route("/api/v1/products/{ref}/{kind:str}", self._product_records),
            Route("/api/v1/features/{ref}/requirements", self._requirements),
            Route("/__mutate", self._mutate, methods=["POST"]),
        ]

    # -- plumbing ----------------------------------------------------------------------------
    def _gate(self, request: Request) -> Response | Verdict:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "Authentication failed"}, 401)
        second = self.per_second.hit(TOKEN)
        minute = self.per_minute.hit(TOKEN) if second.allowed else second
        if not (second.allowed and minute.allowed):
            blocked = minute if not minute.allowed else second
            return JSONResponse(
                {"error": "Rate limit exceeded"},
                429,
                headers={**self._limit_headers(blocked), "Retry-After": str(blocked.retry_after_s)},
            )
        return minute

    @staticmethod
    def _limit_headers(v: Verdict) -> dict[str, str]:
        return {
            "X-Ratelimit-Limit": str(v.limit),
            "X-Ratelimit-Remaining": str(v.remaining),
            "X-Ratelimit-Reset": str(int(v.reset_at) + 1),
        }

    def _page(self, request: Request, key: str, items: list[dict[str, Any]], verdict: Verdict) -> Response:
        try:
            page = max(1, int(request.query_params.get("page", "1")))
            per_page = min(200, max(1, int(request.query_params.get("per_page", "30"))))
        except ValueError:
            return JSONResponse({"error": "page and per_page must be numbers"}, 400)
        total = len(items)
        pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        body = {key: chunk, "pagination": {"total_records": total, "total_pages": pages, "current_page": page}}
        return JSONResponse(body, headers=self._limit_headers(verdict))

    @staticmethod
    def _shape(request: Request, kind: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        if fields:
            return [{f: item[f] for f in dict.fromkeys(["id", *fields]) if f in item} for item in items]
        compact = COMPACT.get(kind)
        return [{f: item[f] for f in compact if f in item} for item in items] if compact else items

    def _not_found(self) -> Response:
        return JSONResponse({"error": "Record not found"}, 404)

    # -- API ---------------------------------------------------------------------------------
    async def _me(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        admin = next(iter(self.account.users.values()))
        return JSONResponse({"user": admin}, headers=self._limit_headers(gate))

    async def _users(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        return self._page(request, "users", list(self.account.users.values()), gate)

    async def _products(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        keys = ("id", "reference_prefix", "name", "product_line", "created_at", "workspace_type", "url")
        items = [{k: p.full[k] for k in keys} for p in self.account.products]
        return self._page(request, "products", items, gate)

    async def _product(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        product = self.account.product(request.path_params["ref"])
        return JSONResponse({"product": product.full}) if product else self._not_found()

    async def _product_users(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        product = self.account.product(request.path_params["ref"])
        if product is None:
            return self._not_found()
        users = [
            {
                "role": 30,
                "role_description": "Contributor",
                "user": {k: self.account.users[u][k] for k in ("id", "name", "email", "created_at", "updated_at")},
            }
            for u in product.users
        ]
        return self._page(request, "project_users", users, gate)

    async def _product_records(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        product = self.account.product(request.path_params["ref"])
        kind = request.path_params["kind"]
        if product is None or kind not in ("releases", "features", "epics", "initiatives", "ideas", "comments"):
            return self._not_found()
        items: list[dict[str, Any]] = getattr(product, kind)
        since_raw = request.query_params.get("updated_since")
        if since_raw and kind in INCREMENTAL:
            since = parse_time(since_raw)
            if since is None:
                return JSONResponse({"error": "updated_since must be an ISO 8601 time"}, 400)
            items = [i for i in items if (parse_time(i["updated_at"]) or since) >= since]
        return self._page(request, kind, self._shape(request, kind, items), gate)

    async def _requirements(self, request: Request) -> Response:
        gate = self._gate(request)
        if isinstance(gate, Response):
            return gate
        found = self.account.feature(request.path_params["ref"])
        if found is None:
            return self._not_found()
        reqs = self.account.requirements.get(found[1]["id"], [])
        return self._page(request, "requirements", self._shape(request, "requirements", reqs), gate)

    # -- control -----------------------------------------------------------------------------
    async def _mutate(self, request: Request) -> Response:
        body = await request.json()
        op = body.get("op")
        now = stamp(datetime.now(UTC))
        with self._lock:
            if op == "update_feature":
                found = self.account.feature(str(body.get("id")))
                if found is None:
                    return self._not_found()
                feature = found[1]
                if "name" in body:
                    feature["name"] = body["name"]
                if "status" in body:
                    name, pos, done = next(s for s in STATUSES if s[0] == body["status"])
                    feature["workflow_status"] = {
                        **feature["workflow_status"],
                        "name": name,
                        "position": pos,
                        "complete": done,
                    }
                feature["updated_at"] = now
                return JSONResponse({"feature": feature})
            if op == "add_feature":
                product: Product | None = self.account.product(str(body.get("product")))
                if product is None:
                    return self._not_found()
                template = product.features[-1] if product.features else None
                if template is None:
                    return JSONResponse({"error": "the product has no feature to copy"}, 400)
                number = len(product.features) + 1
                prefix = product.full["reference_prefix"]
                feature = {
                    **template,
                    "id": str(9_000_000_000 + sum(len(p.features) for p in self.account.products)),
                    "reference_num": f"{prefix}-{number}",
                    "name": body.get("name", f"Feature {number} of {prefix}"),
                    "created_at": now,
                    "updated_at": now,
                }
                product.features.append(feature)
                self.account.requirements[feature["id"]] = []
                return JSONResponse({"feature": feature})
        return JSONResponse({"error": f"unknown op {op!r}; use update_feature or add_feature"}, 400)


def make_sandbox(seed: int = 7, latency_ms: float = 0, **size: Any) -> AhaSandbox:
    return AhaSandbox(seed=seed, latency_ms=latency_ms, **size)
