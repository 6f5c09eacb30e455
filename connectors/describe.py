"""What a connector accepts and loads, for people and scripts (`headwater connectors describe`,
``GET /api/connectors/{kind}``, `source add KIND --help`).

Options and secrets are the JSON Schema of the connector's pydantic models, each property with
its type, default and help (the field's own description, else a line about the common names);
the partition filters every connector accepts (``include``, ``exclude``) are added; streams are
listed with the entity kinds each loads.
"""

from __future__ import annotations

from typing import Any

from connectors.connector import Connector
from connectors.registry import available_kinds, get_connector

COMMON_HELP = {
    "base_url": "API root: the provider's public API, an Enterprise/self-hosted server, or a sandbox",
    "include": "partitions to read: glob patterns, comma separated (default: all)",
    "exclude": "partitions to skip: glob patterns, comma separated",
    "token": "API access token (sent as a Bearer token)",
    "api_token": "API token of the account given as email/username",
    "email": "the Atlassian account's email",
    "username": "the account's username or email (Basic auth with api_token)",
    "org": "GitHub organization login",
    "workspace": "Bitbucket workspace slug",
    "projects": "Jira project keys or globs, comma separated ('*' = all the account can browse)",
    "products": "Aha! product keys or globs, comma separated",
    "channels": "Slack channel names or globs, comma separated",
}
FILTERS = {
    name: {"type": "string", "title": name.title(), "description": COMMON_HELP[name]} for name in ("include", "exclude")
}


def _schema(model: Any, *, filters: bool) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()
    props: dict[str, Any] = schema.setdefault("properties", {})
    for name, prop in props.items():
        if "description" not in prop and name in COMMON_HELP:
            prop["description"] = COMMON_HELP[name]
    if filters:
        props.update({k: dict(v) for k, v in FILTERS.items()})
    return schema


def _type(prop: dict[str, Any]) -> str:
    if "type" in prop:
        return "secret" if prop.get("format") == "password" else str(prop["type"])
    kinds = [_type(p) for p in prop.get("anyOf", []) if p.get("type") != "null"]
    return "|".join(kinds) or "any"


def fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat rows of a schema: name, type, required, default, help."""
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "type": _type(prop),
            "required": name in required,
            "default": prop.get("default"),
            "help": prop.get("description", ""),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def describe(kind_or_connector: str | Connector) -> dict[str, Any]:
    """One connector: options and secrets (JSON Schema), its streams and the entities each loads."""
    c = get_connector(kind_or_connector) if isinstance(kind_or_connector, str) else kind_or_connector
    return {
        "kind": c.kind,
        "description": (c.options_model.__doc__ or "").strip(),
        "options": _schema(c.options_model, filters=True),
        "secrets": _schema(c.secrets_model, filters=False),
        "credentials": (c.secrets_model.__doc__ or "").strip(),
        "partitions": c.partition_entity,
        "has_check": c.check is not None,
        "streams": [
            {
                "name": s.name,
                "entities": list(s.entities),
                "partitioned": s.partitioned,
                "parent": s.parent.entity if s.parent is not None else None,
                "incremental": s.cursor_field is not None or s.parent is not None,
            }
            for s in c.streams
        ],
    }


def summary(kind: str) -> dict[str, Any]:
    d = describe(kind)
    return {
        "kind": kind,
        "options": [f["name"] for f in fields(d["options"])],
        "secrets": [f["name"] for f in fields(d["secrets"])],
        "streams": [s["name"] for s in d["streams"]],
        "entities": sorted({e for s in d["streams"] for e in s["entities"]}),
    }


def list_connectors() -> list[dict[str, Any]]:
    return [summary(kind) for kind in available_kinds()]


def help_text(kind: str) -> str:
    """Plain lines for a command's --help: the options and secrets of one connector."""
    d = describe(kind)

    def lines(schema: dict[str, Any]) -> list[str]:
        out = []
        for f in fields(schema):
            need = (
                "required" if f["required"] else f"default {f['default']!r}" if f["default"] is not None else "optional"
            )
            out.append(f"  {f['name']} ({f['type']}, {need}){': ' + f['help'] if f['help'] else ''}")
        return out

    return "\n".join(
        [
            f"{kind} options (--option KEY=VALUE):",
            *lines(d["options"]),
            f"{kind} secrets (--secret KEY=VALUE):",
            *lines(d["secrets"]),
        ]
    )
