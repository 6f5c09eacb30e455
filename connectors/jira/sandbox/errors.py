"""How the sandbox answers like Jira: error bodies, and lenient integer query parameters."""

from __future__ import annotations

from starlette.responses import JSONResponse


def errors(status: int, *messages: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorMessages": list(messages), "errors": {}}, status, headers=headers)


def int_or(value: str | None, default: int) -> int:
    """``value`` as an integer; ``default`` when it is missing, empty or not a number (as Jira does)."""
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default
