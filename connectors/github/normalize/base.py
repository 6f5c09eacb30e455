"""What every GitHub normalizer shares: lenient timestamps, the payload base model, accounts
(person rows) and the keys built from the repository partition (see the package docstring)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError

from connectors.errors import DataError
from connectors.streams import Row, StreamContext

_DATETIME = TypeAdapter(datetime)
_MINUTE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")


def lenient_datetime(value: Any) -> datetime | None:
    """A provider timestamp; a garbled one (seen in the wild: ``2016-11-29T17:59:<placeholder>Z``)
    keeps what can be read (down to the minute) or becomes None rather than losing the record."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return _DATETIME.validate_python(value)
    except ValidationError:
        m = _MINUTE.match(str(value))
        if m is None:
            return None
        year, month, day, hour, minute = (int(g) for g in m.groups())
        return datetime(year, month, day, hour, minute, tzinfo=UTC)


Timestamp = Annotated[datetime | None, BeforeValidator(lenient_datetime)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class User(Model):
    id: int
    login: str
    type: str | None = None
    html_url: str | None = None


class Label(Model):
    name: str


def person(user: User | None) -> Iterator[Row]:
    """One person row per account seen; the same columns every time (no partial overwrites)."""
    if user is None:
        return
    yield Row(
        "person",
        {
            "external_id": str(user.id),
            "login": user.login,
            "is_bot": user.type == "Bot",
            "extra": {"type": user.type},
        },
    )


def user_id(user: User | None) -> str | None:
    return str(user.id) if user is not None else None


def repo_id(ctx: StreamContext) -> str:
    if ctx.partition is None or "external_id" not in ctx.partition.values:
        raise DataError("a repository-level record was read without its repository partition")
    return str(ctx.partition.values["external_id"])


def number_from_url(url: str | None) -> int:
    """``…/pulls/12`` or ``…/issues/12`` -> 12."""
    tail = (url or "").rstrip("/").rsplit("/", 1)[-1]
    if not tail.isdigit():
        raise DataError(f"cannot read an issue or pull request number from {url!r}")
    return int(tail)


def numbered_id(repo: str, number: int) -> str:
    return f"{repo}#{number}"


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
