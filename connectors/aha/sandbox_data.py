"""Deterministic Aha! data for the sandbox: an account with users, products and their records.

Records are generated in Aha!'s full representation (as ``GET /features/:id`` returns them);
the server cuts them down to the compact list shapes or to the requested ``fields``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.sandbox import shared_world

BASE = datetime(2024, 1, 1, tzinfo=UTC)
HOST = "https://sandbox.aha.io"
FIRST = ["Ada", "Grace", "Alan", "Barbara", "Edsger", "Frances", "Ken", "Radia", "Linus", "Margaret", "Tim", "Anita"]
LAST = ["Lovelace", "Hopper", "Turing", "Liskov", "Dijkstra", "Allen", "Thompson", "Perlman", "Torvalds", "Hamilton"]
STATUSES = [  # (name, position, complete)
    ("New", 1, False),
    ("Ready to develop", 2, False),
    ("In development", 3, False),
    ("In code review", 4, False),
    ("Shipped", 5, True),
    ("Will not implement", 6, True),
]
IDEA_STATUSES = [("Needs review", 1, False), ("Future consideration", 2, False), ("Shipped", 3, True)]
TAGS = ["Engineering", "Infrastructure", "UX", "Security", "Mobile", "API"]


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Product:
    full: dict[str, Any]
    users: list[str] = field(default_factory=list)  # user ids with a role in the product
    releases: list[dict[str, Any]] = field(default_factory=list)
    features: list[dict[str, Any]] = field(default_factory=list)
    epics: list[dict[str, Any]] = field(default_factory=list)
    initiatives: list[dict[str, Any]] = field(default_factory=list)
    ideas: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Account:
    users: dict[str, dict[str, Any]]
    products: list[Product]
    requirements: dict[str, list[dict[str, Any]]]  # feature id -> requirements
    planted: list[dict[str, str]] = field(default_factory=list)  # records naming a Jira issue

    def product(self, ref: str) -> Product | None:
        for p in self.products:
            if ref in (p.full["id"], p.full["reference_prefix"]):
                return p
        return None

    def feature(self, ref: str) -> tuple[Product, dict[str, Any]] | None:
        for p in self.products:
            for f in p.features:
                if ref in (f["id"], f["reference_num"]):
                    return p, f
        return None


class Ids:
    def __init__(self, start: int) -> None:
        self.next = start

    def __call__(self) -> str:
        self.next += 7919  # distinct, stable, not contiguous
        return str(self.next)


def user_ref(user: dict[str, Any]) -> dict[str, Any]:
    return {k: user[k] for k in ("id", "name", "email", "created_at", "updated_at")}


def status(rng: random.Random, statuses: list[tuple[str, int, bool]], ids: dict[str, str]) -> dict[str, Any]:
    name, pos, done = rng.choice(statuses)
    return {"id": ids.setdefault(name, str(900000 + len(ids))), "name": name, "position": pos, "complete": done}


def custom_fields(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "id": 621325984,
            "key": "customer",
            "name": "Customer",
            "value": rng.choice(["Acme", "Globex", "Initech"]),
            "type": "string",
        },
        {"id": 694694494, "key": "impact", "name": "Impact", "value": rng.randint(1, 10), "type": "scorecard"},
    ]


class Builder:
    """Makes records one hour apart, owned by users of their product."""

    def __init__(self, rng: random.Random, new_id: Ids, people: dict[str, dict[str, Any]]) -> None:
        self.rng = rng
        self.new_id = new_id
        self.people = people
        self.clock = BASE
        self.status_ids: dict[str, str] = {}

    def tick(self, delta: timedelta = timedelta(hours=1)) -> datetime:
        self.clock += delta
        return self.clock

    def record(self, product: Product, kind: str, ref: str, name: str, *, idea: bool = False) -> dict[str, Any]:
        rng, at = self.rng, self.tick()
        full = product.full
        project = {
            k: full[k]
            for k in ("id", "reference_prefix", "name", "product_line", "created_at", "workspace_type", "url")
        }
        return {
            "id": self.new_id(),
            "reference_num": ref,
            "name": name,
            "product_id": full["id"],
            "project": project,
            "created_at": stamp(at),
            "updated_at": stamp(at + timedelta(minutes=rng.randint(0, 600))),
            "workflow_status": status(rng, IDEA_STATUSES if idea else STATUSES, self.status_ids),
            "assigned_to_user": {**user_ref(self.people[rng.choice(product.users)]), "default_assignee": False},
            "created_by_user": user_ref(self.people[rng.choice(product.users)]),
            "tags": rng.sample(TAGS, k=rng.randint(0, 2)),
            "custom_fields": custom_fields(rng),
            "score": rng.randint(0, 100),
            "url": f"{HOST}/{kind}/{ref}",
            "resource": f"{HOST}/api/v1/{kind}/{ref}",
            "status_changed_on": (at + timedelta(days=1)).date().isoformat(),
        }


def generate(
    seed: int = 7,
    *,
    products: int = 3,
    users: int = 12,
    releases: int = 3,
    features: int = 20,
    requirements: int = 2,
    epics: int = 2,
    initiatives: int = 2,
    ideas: int = 5,
    comments: int = 6,
) -> Account:
    rng = random.Random(seed)
    new_id = Ids(1_000_000 + seed * 100_003)
    people: dict[str, dict[str, Any]] = {}
    for i in range(users):
        uid = new_id()
        at = stamp(BASE - timedelta(days=400 - i))
        member = shared_world.member_for("aha", i)
        people[uid] = {
            "id": uid,
            "name": member.name if member else f"{FIRST[i % len(FIRST)]} {LAST[(i * 3) % len(LAST)]}",
            "email": member.aha if member and member.aha else f"person-{i + 1}@aha-only.example",
            "created_at": at,
            "updated_at": at,
            "accessed_at": None,
            "product_roles": [],
            "enabled": i % 9 != 8,
            "paid_seat": True,
            "administrator": i == 0,
        }
    user_ids = list(people)
    account = Account(users=people, products=[], requirements={})
    b = Builder(rng, new_id, people)
    for pi in range(products):
        prefix = f"PRJ{pi + 1}"
        pid = new_id()
        full = {
            "id": pid,
            "reference_prefix": prefix,
            "name": f"Project {pi + 1}",
            "product_line": False,
            "created_at": stamp(BASE - timedelta(days=300)),
            "updated_at": stamp(BASE - timedelta(days=30)),
            "workspace_type": "product_workspace",
            "url": f"{HOST}/projects/{prefix}",
        }
        product = Product(full=full, users=sorted(rng.sample(user_ids, k=max(1, min(len(user_ids), users // 2 + 1)))))
        for uid in product.users:
            people[uid]["product_roles"].append(
                {"role": 30, "role_description": "Contributor", "product_id": pid, "product_name": full["name"]}
            )
        project = {
            k: full[k]
            for k in ("id", "reference_prefix", "name", "product_line", "created_at", "workspace_type", "url")
        }

        for ri in range(releases):
            clock = b.tick()
            ref = f"{prefix}-R-{ri + 1}"
            released = ri < releases - 1
            product.releases.append(
                {
                    "id": new_id(),
                    "reference_num": ref,
                    "name": f"Release {ri + 1}",
                    "product_id": pid,
                    "project": project,
                    "start_date": (BASE + timedelta(days=30 * ri)).date().isoformat(),
                    "release_date": (BASE + timedelta(days=30 * ri + 28)).date().isoformat(),
                    "released": released,
                    "released_on": (BASE + timedelta(days=30 * ri + 28)).date().isoformat() if released else None,
                    "parking_lot": False,
                    "master_release": False,
                    "created_at": stamp(clock),
                    "updated_at": stamp(clock),
                    "owner": user_ref(people[product.users[0]]),
                    "integration_fields": [],
                    "custom_fields": [],
                    "url": f"{HOST}/releases/{ref}",
                    "resource": f"{HOST}/api/v1/releases/{ref}",
                }
            )
        for ii in range(initiatives):
            ini = b.record(product, "initiatives", f"{prefix}-S-{ii + 1}", f"Initiative {ii + 1}")
            ini["status"] = "in_progress"
            product.initiatives.append(ini)
        for ei in range(epics):
            epic = b.record(product, "epics", f"{prefix}-E-{ei + 1}", f"Epic {ei + 1} of {prefix}")
            if product.initiatives:
                ini = product.initiatives[ei % len(product.initiatives)]
                epic["initiative"] = {k: ini[k] for k in ("id", "reference_num", "name")}
            epic["release"] = (
                {k: product.releases[0][k] for k in ("id", "reference_num", "name")} if product.releases else None
            )
            product.epics.append(epic)
        for fi in range(features):
            feature = b.record(product, "features", f"{prefix}-{fi + 1}", f"Feature {fi + 1} of {prefix}")
            feature["workflow_kind"] = {"id": "98484309", "name": rng.choice(["New", "Improvement", "Bug fix"])}
            feature["work_units"] = 20
            feature["original_estimate"] = float(rng.choice([1, 2, 3, 5, 8]))
            feature["remaining_estimate"] = feature["original_estimate"]
            if product.releases:
                rel = product.releases[fi % len(product.releases)]
                feature["release"] = {k: rel[k] for k in ("id", "reference_num", "name", "release_date")}
            if product.epics and fi % 3:
                epic = product.epics[fi % len(product.epics)]
                feature["epic"] = {k: epic[k] for k in ("id", "reference_num", "name")}
            feature["integration_fields"] = []
            product.features.append(feature)
            reqs = []
            for qi in range(rng.randint(0, 2 * requirements)):
                req = b.record(
                    product, "requirements", f"{prefix}-{fi + 1}-{qi + 1}", f"Requirement {qi + 1} of {prefix}-{fi + 1}"
                )
                req.pop("product_id")
                req.pop("project")
                req["feature"] = {k: feature[k] for k in ("id", "reference_num", "name", "created_at", "product_id")}
                req["release_id"] = int(feature["release"]["id"]) if feature.get("release") else None
                reqs.append(req)
            account.requirements[feature["id"]] = reqs
        for di in range(ideas):
            idea = b.record(product, "ideas", f"{prefix}-I-{di + 1}", f"Idea {di + 1} for {prefix}", idea=True)
            idea["description"] = {"id": new_id(), "body": f"Please build idea {di + 1}", "attachments": []}
            product.ideas.append(idea)
        targets = [("Feature", f) for f in product.features] + [("Release", r) for r in product.releases]
        for ci in range(comments if targets else 0):
            kind, target = targets[(ci * 5) % len(targets)]
            clock = b.tick(timedelta(minutes=30))
            cid = new_id()
            product.comments.append(
                {
                    "id": cid,
                    "body": f"<p>Comment {ci + 1} on {target['reference_num']}</p>",
                    "created_at": stamp(clock),
                    "updated_at": stamp(clock),
                    "user": user_ref(people[rng.choice(product.users)]),
                    "attachments": [],
                    "url": f"{HOST}/comments/{cid}",
                    "resource": f"{HOST}/api/v1/comments/{cid}",
                    "commentable": {"type": kind, "id": target["id"], "product_id": pid, "url": target["url"]},
                }
            )
        account.products.append(product)
    if account.products:
        plant(account, account.products[0])
    return account


def plant(account: Account, product: Product) -> None:
    """The shared plan's Jira integrations on the first product's features."""
    for index, target in shared_world.PLAN.aha_integrations:
        if index < len(product.features):
            feature = product.features[index]
            key = target if isinstance(target, str) else shared_world.jira_key(*target)
            feature["integration_fields"] = shared_world.aha_integration_fields(key, feature["id"])
            if not isinstance(target, str):
                account.planted.append(
                    {"kind": "work_item", "external_id": feature["id"], "key": key, "how": "aha_integration"}
                )


def roster_keys(account: Account) -> dict[str, str | None]:
    """Every user id -> its shared-world roster key (None: an account no one else has)."""
    out: dict[str, str | None] = {}
    for i, uid in enumerate(account.users):
        member = shared_world.member_for("aha", i)
        out[uid] = member.key if member else None
    return out
