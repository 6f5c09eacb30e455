"""Connector kinds. Adding a connector = one folder with a ``CONNECTOR`` and one line here
(`headwater connectors new NAME` writes both)."""

from __future__ import annotations

import importlib

from connectors.connector import Connector, ConnectorMeta

KINDS: dict[str, str] = {
    "github": "connectors.github",
    "bitbucket": "connectors.bitbucket",
    "jira": "connectors.jira",
    "aha": "connectors.aha",
    "slack": "connectors.slack",
    # `headwater connectors new NAME` adds its line above this one
}


class UnknownConnector(ValueError):
    pass


def available_kinds() -> list[str]:
    """Kinds whose package is present in this build."""
    out = []
    for kind, module in KINDS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        out.append(kind)
    return out


def get_connector(kind: str) -> Connector:
    module = KINDS.get(kind)
    if module is None:
        raise UnknownConnector(f"unknown connector kind {kind!r}; use one of: {', '.join(KINDS)}")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise UnknownConnector(f"connector kind {kind!r} is not available in this build") from exc
    connector: Connector = mod.CONNECTOR
    return connector


def connector_meta(kind: str) -> ConnectorMeta:
    """How people see ``kind`` (dashboard, CLI); a kind missing from this build shows as its name."""
    try:
        return get_connector(kind).metadata
    except UnknownConnector:
        return ConnectorMeta(display_name=kind)
