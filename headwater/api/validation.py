"""422 bodies for malformed requests that are readable and never echo what was sent.

FastAPI's default validation error includes each offending ``input`` — for a source that
would repeat its secrets back. This route class answers with location, message and type only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute


def describe(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ())]
        if err.get("type") == "json_invalid":
            why = (err.get("ctx") or {}).get("error", "")
            at = loc[1] if len(loc) > 1 else "?"
            msg = f"body: not valid JSON (at character {at}{': ' + str(why) if why else ''})"
            out.append({"loc": ["body"], "field": "body", "msg": msg, "type": "json_invalid"})
            continue
        where = ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc) or "body"
        out.append(
            {"loc": loc, "field": where, "msg": f"{where}: {err.get('msg', 'invalid')}", "type": err.get("type")}
        )
    return out


class SafeRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse(status_code=422, content={"detail": describe(exc.errors())})

        return route
