"""`headwater people` and `headwater links`: a tenant's identities across sources and its work links.

``people TENANT`` lists identities with their accounts; ``people merge TENANT IDENTITY_ID
IDENTITY_ID`` and ``people split TENANT PERSON_ID`` record a manual decision, applied at once and
by every later run (linking.views).
"""

from __future__ import annotations

from typing import Any

import typer

from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, fail, show
from linking.views import links_document, merge, people_document, split
from tenancy import get_tenant

USAGE = "usage: headwater people TENANT | people merge TENANT IDENTITY_ID IDENTITY_ID | people split TENANT PERSON_ID"


def _ids(values: list[str], n: int) -> list[int]:
    if len(values) != n or not all(v.isdigit() for v in values):
        fail(USAGE)
    return [int(v) for v in values]


def _flat(identity: dict[str, Any]) -> dict[str, Any]:
    accounts = identity["accounts"]
    return {
        "id": identity["id"],
        "display_name": identity["display_name"],
        "accounts": ", ".join(f"{a['kind']}:{a['login'] or a['external_id']} ({a['how']})" for a in accounts),
    }


def people_command(
    args: list[str] = typer.Argument(..., metavar="TENANT | merge TENANT ID ID | split TENANT PERSON_ID"),
    as_json: bool = JsonOpt,
) -> None:
    """Identities of a tenant across its sources; merge two identities or split a person off by hand."""
    action = args[0] if args[0] in ("merge", "split") and len(args) > 1 else "list"
    rest = args[1:] if action != "list" else args
    if not rest:
        fail(USAGE)
    slug, values = rest[0], rest[1:]
    with app_context() as app, app.db.session() as s:
        tenant = get_tenant(s, slug)
        if action == "list":
            if values:
                fail(USAGE)
            doc: Any = people_document(s, tenant.id)
            if not as_json:
                show([_flat(i) for i in doc], False, ["id", "display_name", "accounts"])
                return
        elif action == "merge":
            first, second = _ids(values, 2)
            if first == second:
                fail(f"identity {first} cannot be merged with itself")
            doc = merge(s, tenant.id, first, second, "cli")
        else:
            (person,) = _ids(values, 1)
            doc = split(s, tenant.id, person, "cli")
        show(doc if as_json else _flat(doc), as_json)


def links_command(
    tenant: str,
    kind: str = typer.Option(None, "--kind", help="Only links from or to rows of this kind (pull_request, commit …)."),
    as_json: bool = JsonOpt,
) -> None:
    """Work links of a tenant: pull requests, branches, commits, messages and Aha! records naming Jira issues."""
    with app_context() as app, app.db.read() as s:
        t = get_tenant(s, tenant)
        doc = links_document(s, t.id, kind)
    if as_json:
        show(doc, True)
        return
    rows = [
        {"from": f"{x['from']['kind']} {x['from']['external_id']}", "to": x["to"]["key"] or x["to"]["external_id"],
         "how": x["how"]}
        for x in doc
    ]  # fmt: skip
    show(rows, False, ["from", "to", "how"])
