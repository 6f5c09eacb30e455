"""The small part of JQL the sandbox understands (what connectors send), with Jira's errors.

``project = X`` / ``project in (X, Y)``, ``updated|created >=|>|<=|< "yyyy-MM-dd HH:mm"``,
``id|key|issuekey in (…)`` / ``= …``, ``sprint = N``, joined by AND, then ``ORDER BY field
[ASC|DESC], …``. A query without a restriction is rejected like Jira's enhanced search does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from connectors.jira.sandbox.world import Issue, World, jql_instant


class JqlError(ValueError):
    pass


@dataclass
class Query:
    match: Callable[[Issue], bool]
    order: list[tuple[str, bool]]  # (field, descending)


_CLAUSE = re.compile(r"^\s*(\w+)\s*(>=|<=|!=|=|>|<|\bin\b)\s*(.+?)\s*$", re.IGNORECASE)


def _values(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return [v.strip().strip('"').strip("'") for v in text.split(",") if v.strip()]


def parse(jql: str, world: World) -> Query:
    parts = re.split(r"\border\s+by\b", jql, maxsplit=1, flags=re.IGNORECASE)
    where = parts[0]
    order_by = parts[1] if len(parts) > 1 else ""
    tests: list[Callable[[Issue], bool]] = []
    for raw in re.split(r"\s+AND\s+", where.strip(), flags=re.IGNORECASE) if where.strip() else []:
        m = _CLAUSE.match(raw)
        if not m:
            raise JqlError(f"Error in the JQL Query: Expecting operator but got '{raw.strip()}'.")
        name, op, value = m.group(1).lower(), m.group(2).lower(), m.group(3)
        tests.append(_clause(name, op, value, world))
    if not tests:
        raise JqlError("Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
    order: list[tuple[str, bool]] = []
    for item in order_by.split(","):
        bits = item.split()
        if bits:
            order.append((bits[0].lower(), len(bits) > 1 and bits[1].lower() == "desc"))
    return Query(lambda i: all(t(i) for t in tests), order or [("key", True)])


def _clause(name: str, op: str, value: str, world: World) -> Callable[[Issue], bool]:
    if name == "project":
        ids: set[str] = set()
        for ref in _values(value) if op == "in" else [value.strip().strip('"')]:
            proj = world.project(ref)
            if proj is None or proj.id in world.forbidden:
                raise JqlError(f"The value '{ref}' does not exist for the field 'project'.")
            ids.add(proj.id)
        return lambda i: i.project_id in ids
    if name in ("updated", "created"):
        at = jql_instant(value)
        if at is None:
            raise JqlError(
                f"Date value '{value}' for field '{name}' is invalid. Valid formats include: "
                "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d'."
            )
        # JQL compares at minute resolution: a minute-floored instant.
        ops: dict[str, Callable[[Issue], bool]] = {
            ">=": lambda i: _minute(getattr(i, name)) >= at,
            ">": lambda i: _minute(getattr(i, name)) > at,
            "<=": lambda i: _minute(getattr(i, name)) <= at,
            "<": lambda i: _minute(getattr(i, name)) < at,
        }
        if op not in ops:
            raise JqlError(f"The operator '{op}' is not supported by the '{name}' field.")
        return ops[op]
    if name in ("id", "key", "issuekey"):
        refs = _values(value) if op == "in" else [value.strip().strip('"')]
        found = [world.find_issue(r) for r in refs]
        numbers = {i.id for i in found if i is not None}
        return lambda i: i.id in numbers
    if name == "sprint" and op == "=":
        sid = int(value.strip().strip('"'))
        return lambda i: sid in i.sprint_ids
    raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def sort(issues: list[Issue], order: list[tuple[str, bool]]) -> list[Issue]:
    out = sorted(issues, key=lambda i: i.id)
    for field, desc in reversed(order):
        key = {"updated": lambda i: i.updated, "created": lambda i: i.created, "id": lambda i: i.id}.get(
            field, lambda i: (i.key.split("-")[0], int(i.key.split("-")[1]))
        )
        out = sorted(out, key=key, reverse=desc)
    return out
