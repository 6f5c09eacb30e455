"""Checks on a connector's declarations, run when a :class:`~connectors.connector.Connector` is built.

A mistake in a streams table fails at import with one line naming the stream and what to fix,
instead of a child running beside its parent or a path formatted from the wrong value.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from connectors.cursors import ChildOf
from connectors.streams import placeholders

if TYPE_CHECKING:
    from connectors.connector import Connector


class DeclarationError(ValueError):
    """A connector's declarations contradict each other (raised when the connector is built)."""


def problems(c: Connector) -> list[str]:
    """Everything wrong with ``c``'s declarations, one line each (empty: all is well)."""
    out: list[str] = []
    names = [s.name for s in c.streams]
    out += [f"stream {n!r} is declared {k} times" for n, k in Counter(names).items() if k > 1]
    by_name = {s.name: s for s in c.streams}
    options = set(c.options_model.model_fields) | set(c.derived)
    partition = {"partition_key", *c.partition_values}
    if c.discovery_stream is not None:
        disc = by_name.get(c.discovery_stream)
        if disc is None:
            out.append(f"discovery_stream {c.discovery_stream!r} is not a stream")
        elif disc.partitioned:
            out.append(f"discovery stream {disc.name!r} must be partitioned=False")
        if c.partition_entity is None or c.partition_of is None:
            out.append("a discovery_stream needs partition_entity and partition_of")
    for spec in c.streams:
        where = f"stream {spec.name!r}"
        for dep in spec.dependencies:
            if dep not in by_name:
                out.append(f"{where} depends on {dep!r}, which is not a stream of {c.kind}")
            elif dep == spec.name:
                out.append(f"{where} depends on itself")
        if spec.partitioned and c.discovery_stream is None:
            out.append(f"{where} is partitioned but {c.kind} has no discovery_stream (set partitioned=False)")
        provided = set(options) | (partition if spec.partitioned else set())
        if isinstance(spec.cursor, ChildOf):
            parent, pstream = spec.cursor.parent, by_name.get(spec.cursor.stream)
            provided |= {*parent.fields, "external_id", parent.watermark}
            if pstream is not None and pstream.partitioned and not spec.partitioned:
                out.append(f"{where} is source-level but its parent stream {pstream.name!r} is partitioned")
            if parent.partition_column and not spec.partitioned:
                out.append(f"{where}: partition_column {parent.partition_column!r} needs a partitioned stream")
            if parent.partition_value and parent.partition_value not in c.partition_values:
                out.append(f"{where}: partition_value {parent.partition_value!r} is not among partition_values")
            if parent.partition_value and not parent.partition_column:
                out.append(f"{where}: partition_value needs partition_column")
        missing = sorted(placeholders(spec.path) - provided)
        if missing:
            out.append(f"{where}: path {spec.path!r} needs {', '.join(missing)}, which nothing provides")
    if c.meta is not None:
        scope = c.meta.scope_option
        if scope is not None and scope not in c.options_model.model_fields:
            out.append(f"meta.scope_option {scope!r} is not an option of {c.options_model.__name__}")
        if not re.fullmatch(r"#(?:[0-9a-fA-F]{3}){1,2}", c.meta.badge_color):
            out.append(f"meta.badge_color must be a hex colour such as #24292f, got {c.meta.badge_color!r}")
    if c.partition_check is not None:
        missing = sorted(placeholders(c.partition_check.path) - options - partition)
        if missing:
            out.append(f"partition_check path {c.partition_check.path!r} needs {', '.join(missing)}")
    return out


def check(c: Connector) -> None:
    found = problems(c)
    if found:
        raise DeclarationError(f"connector {c.kind!r}: " + "; ".join(found))
