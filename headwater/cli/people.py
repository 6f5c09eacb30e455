"""`headwater people` and `headwater links`: a tenant's identities across sources and its work links.

``people TENANT`` lists identities with their accounts; ``people merge TENANT IDENTITY_ID
IDENTITY_ID`` and ``people split TENANT PERSON_ID`` record a manual decision, applied at once and
by every later run (linking.views). ``people map TENANT --account KIND:LOGIN_OR_EMAIL --email
ADDRESS|--to IDENTITY_ID`` stores an explicit mapping (tenant configuration: it may name accounts
not landed yet), ``people mappings TENANT`` lists them and ``people unmap TENANT MAPPING_ID``
removes one (linking.mappings).
"""

from __future__ import annotations

from typing import Any

import typer

from headwater.cli.context import app_context
from headwater.cli.output import JsonOpt, fail, show
from linking.mappings import MappingError, MappingNotFound, add_mapping, mappings_document, remove_mapping
from linking.views import links_document, merge, people_document, split
from tenancy import get_tenant

USAGE = (
    "usage: headwater people TENANT | people merge TENANT IDENTITY_ID IDENTITY_ID | people split TENANT PERSON_ID"
    " | people map TENANT --account KIND:LOGIN_OR_EMAIL --email ADDRESS|--to IDENTITY_ID"
    " | people mappings TENANT | people unmap TENANT MAPPING_ID"
)
ACTIONS = ("merge", "split", "map", "mappings", "unmap")
MAPPING_COLUMNS = ["id", "account", "to_email", "to_person_id", "decided_by", "created_at"]


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
    args: list[str] = typer.Argument(..., metavar="TENANT | merge|split|map|mappings|unmap TENANT …"),
    account: str = typer.Option(None, "--account", help="map: the account, KIND:LOGIN_OR_EMAIL (e.g. slack:ada)."),
    to: int = typer.Option(None, "--to", help="map: the identity the account joins."),
    email: str = typer.Option(None, "--email", help="map: the address of the person the account is."),
    as_json: bool = JsonOpt,
) -> None:
    """Identities of a tenant across its sources; merge, split, and explicit mappings (map, mappings, unmap)."""
    action = args[0] if args[0] in ACTIONS and len(args) > 1 else "list"
    rest = args[1:] if action != "list" else args
    if not rest or (action != "map" and (account is not None or to is not None or email is not None)):
        fail(USAGE)
    slug, values = rest[0], rest[1:]
    with app_context() as app, app.db.session() as s:
        tenant = get_tenant(s, slug)
        if action in ("list", "mappings"):
            if values:
                fail(USAGE)
            if action == "mappings":
                show(mappings_document(s, tenant.id), as_json, MAPPING_COLUMNS)
                return
            doc: Any = people_document(s, tenant.id)
            if not as_json:
                show([_flat(i) for i in doc], False, ["id", "display_name", "accounts"])
                return
        elif action in ("map", "unmap"):
            try:
                if action == "map":
                    if values or account is None:
                        fail(USAGE)
                    doc = add_mapping(s, tenant.id, account, email=email, identity_id=to, decided_by="cli")
                else:
                    (mapping_id,) = _ids(values, 1)
                    doc = remove_mapping(s, tenant.id, mapping_id)
            except (MappingError, MappingNotFound) as exc:
                fail(str(exc))
            show(doc, as_json)
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
