"""Privacy tests: each provider's sandbox refreshed with or without the privacy options, and a scan
of every text and JSON value of every table for the names, e-mails, bodies, branches and paths
the sandbox planted.

The planted values are read from a refresh with the options off, independently of the privacy
declarations: the normalized columns that hold them (person login/display_name/email, commit
author and message, comment bodies, message text, branch names ...) and, in the raw pages, the
string values of keys that name such things (``email``, ``displayName``, ``body``, ``ref`` ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import JSON, String, Text, select

from connectors.aha.sandbox import make_sandbox as aha_sandbox
from connectors.bitbucket.sandbox import make_sandbox as bitbucket_sandbox
from connectors.github.sandbox import make_sandbox as github_sandbox
from connectors.jira.sandbox import make_sandbox as jira_sandbox
from connectors.runtime import SourceRuntime, run_source_sequentially
from connectors.sandbox import RunningServer, serve_in_thread
from connectors.slack.sandbox import make_sandbox as slack_sandbox
from storage import Database, model_for
from storage.models import RawPage, Tenant
from storage.models.base import Base
from tenancy import Vault, add_source, add_tenant, runtime_for
from tests.ingest_support import FastClock

ON = {"redact_people": True, "strip_bodies": True, "hash_paths": True}


@dataclass(frozen=True)
class Provider:
    kind: str
    start: Callable[[], Any]  # a small sandbox
    scope: str | None  # the option naming the organization or workspace (not a person)


PROVIDERS: dict[str, Provider] = {
    "github": Provider("github", lambda: github_sandbox(repos=2, commits=6, pulls=3, issues=3), "org"),
    "bitbucket": Provider("bitbucket", lambda: bitbucket_sandbox(repos=2, commits=6, pulls=3), "workspace"),
    "jira": Provider("jira", lambda: jira_sandbox(projects=2, issues=8), None),
    "aha": Provider("aha", lambda: aha_sandbox(minute_s=0.03, products=1, features=6), None),
    "slack": Provider("slack", lambda: slack_sandbox(minute_s=0.03, channels=3, messages=12), None),
}

# Normalized columns that hold what the options change (entity -> columns; "extra.k" inside extra).
PLANTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "person": ("login", "display_name", "email", "extra.real_name"),
    "commit": ("author_name", "author_email", "message", "extra.committer_name"),
    "comment": ("body", "extra.path"),
    "message": ("text",),
    "pull_request": ("source_branch", "target_branch"),
    "branch": ("name",),
    "repository": ("default_branch",),
}
# Keys of raw records whose string values are names, e-mails, bodies, branches or paths.
PLANTED_KEYS = {
    "login", "email", "emailAddress", "displayName", "display_name", "nickname", "real_name", "first_name",
    "last_name", "body", "message", "text", "diff_hunk", "ref", "path", "filename", "raw", "default_branch",
}  # fmt: skip
# Columns the options keep (titles and names of things, not of people): a commit message that
# is also a pull request's title is kept there, by design.
KEPT_COLUMNS: dict[str, tuple[str, ...]] = {
    "pull_request": ("title",),
    "work_item": ("title",),
    "channel": ("name",),
    "project": ("name", "key"),
    "repository": ("name", "full_name"),
}
# a Jira board's location is a project (its displayName is the project's); a Jira field's
# nonEditableReason.message is Jira's own words
NOT_PEOPLE = {"location", "nonEditableReason"}
MIN_LEN = 3
# Columns Headwater fills from its own vocabulary, never from a provider (a branch named
# "release" is not leaked by comment.parent_kind = "release", nor a bot named "headwater" by a
# logger's name).
OWN_VOCABULARY = {"logger", "level", "parent_kind", "stream", "kind", "state", "trigger", "error_kind", "entity"}


class Served:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.sandbox = provider.start()
        self.server: RunningServer = serve_in_thread(self.sandbox)

    def truth(self) -> dict[str, Any]:
        return httpx.get(f"{self.server.url}/__truth").json()  # type: ignore[no-any-return]

    def options(self, **extra: Any) -> dict[str, Any]:
        truth = self.truth()
        opts = dict(truth["options"])
        base = str(opts.pop("base_url", truth.get("base_path", "")))
        return {"base_url": self.server.url + base, **opts, **extra}

    def secrets(self) -> dict[str, Any]:
        return dict(self.truth()["secrets"])

    def stop(self) -> None:
        self.server.stop()


def source(db: Database, vault: Vault, served: Served, tenant: str, **options: Any) -> SourceRuntime:
    with db.session() as s:
        t = s.execute(select(Tenant).where(Tenant.slug == tenant)).scalar_one_or_none() or add_tenant(s, tenant)
        src = add_source(s, vault, t, served.provider.kind, served.options(**options), served.secrets())
        return runtime_for(src, vault)


def refresh(rt: SourceRuntime, db: Database, *, full: bool = False) -> None:
    report = asyncio.run(run_source_sequentially(rt, db, budget=FastClock().budget(), full=full))
    assert report.records_loaded > 0


# -- what was planted ---------------------------------------------------------------------------
def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _keyed(value: Any, keys: set[str]) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k in keys and isinstance(v, str):
                yield v
            elif k not in NOT_PEOPLE:
                yield from _keyed(v, keys)
    elif isinstance(value, list):
        for v in value:
            yield from _keyed(v, keys)


def planted(db: Database, source_id: int, not_people: Iterable[str] = ()) -> set[str]:
    """The sensitive values a refresh with the options off stored for one source."""
    found: set[str] = set()
    kept: set[str] = set()
    with db.read() as s:
        for into, spec in ((found, PLANTED_COLUMNS), (kept, KEPT_COLUMNS)):
            for entity, columns in spec.items():
                table = model_for(entity).__table__  # type: ignore[attr-defined]
                for row in s.execute(select(table).where(table.c.source_id == source_id)).mappings():
                    for col in columns:
                        value = (row["extra"] or {}).get(col[6:]) if col.startswith("extra.") else row[col]
                        into.update(v.strip() for v in _strings(value))
        for records in s.execute(select(RawPage.records).where(RawPage.source_id == source_id)).scalars():
            found.update(_keyed(records, PLANTED_KEYS))
    skip = set(not_people)
    values = {v.strip() for v in found if len(v.strip()) >= MIN_LEN and v.strip() not in skip}
    return {v for v in values if not any(_word(v).search(k) for k in kept)}


def _word(value: str) -> re.Pattern[str]:
    """``value`` as a whole word (not inside a longer name, login or e-mail)."""
    return re.compile(r"(?<![\w.-])" + re.escape(value) + r"(?![\w-])")


# -- the scan -------------------------------------------------------------------------------------
def all_strings(db: Database) -> list[tuple[str, str]]:
    """(table.column, text) of every text and JSON value in the database, JSON walked to its strings."""
    out: list[tuple[str, str]] = []
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            cols = [
                c for c in table.columns if isinstance(c.type, (String, Text, JSON)) and c.name not in OWN_VOCABULARY
            ]
            if not cols:
                continue
            for row in s.execute(select(*cols)):
                for col, value in zip(cols, row, strict=True):
                    if isinstance(value, str) and value[:1] in "[{":
                        with contextlib.suppress(ValueError):
                            value = json.loads(value)
                    out.extend((f"{table.name}.{col.name}", text) for text in _strings(value))
    return out


def leaks(db: Database, values: Iterable[str]) -> dict[str, list[str]]:
    """Each planted value found anywhere (as a whole word: not inside a longer name), with where."""
    texts = all_strings(db)
    found: dict[str, list[str]] = {}
    for value in values:
        pattern = _word(value)
        where = sorted({place for place, text in texts if pattern.search(text)})
        if where:
            found[value] = where
    return found
