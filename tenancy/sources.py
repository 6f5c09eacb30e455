"""Levers on an existing source: reconnect (new options or secrets), enable/disable, and what a
removal would delete.

``update_source`` validates everything before it writes; a source keeps its id, cursors, rows
and task history. The connector's ``check`` (network) is run by the caller between
:func:`prepare_update` and :func:`apply_update`, so nothing is stored when the check fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from connectors.connector import CheckResult
from connectors.http.client import RetryPolicy
from connectors.registry import get_connector
from connectors.runtime import SourceRuntime, open_http
from storage.models import ENTITY_MODELS, Cursor, HttpValidator, Quarantine, RawPage, Source, TaskRun
from storage.models.base import utcnow
from tenancy.privacy_salt import split_salt, tenant_salt, with_salt
from tenancy.service import (
    PARTITION_FILTERS,
    TenancyError,
    check_secret_values,
    describe_validation_error,
    split_patterns,
)
from tenancy.vault import Vault

CHECK_RETRY = RetryPolicy(attempts=2, max_elapsed_s=30.0, backoff_max_s=2.0, max_retry_after_s=5.0, timeout_s=15.0)


@dataclass(frozen=True)
class SourceChange:
    """A validated change of one source, not yet stored."""

    source_id: int
    options: dict[str, Any]
    include: list[str]
    exclude: list[str]
    secrets: dict[str, Any]
    runtime: SourceRuntime
    credentials_changed: bool


def prepare_update(
    source: Source, vault: Vault, options: Mapping[str, Any], secrets: Mapping[str, Any]
) -> SourceChange:
    """New options merge over the stored ones. New secrets replace the stored set when they form a
    complete set on their own (e.g. Bitbucket switching from a token to username + api_token);
    otherwise they merge over it (a new Jira api_token keeps the email)."""
    kind = source.kind
    connector = get_connector(kind)
    opts = {**source.options, **{k: v for k, v in options.items() if k not in PARTITION_FILTERS}}
    include = split_patterns(options["include"]) if "include" in options else list(source.include or [])
    exclude = split_patterns(options["exclude"]) if "exclude" in options else list(source.exclude or [])
    try:
        parsed = connector.parse_options(opts)
    except pydantic.ValidationError as exc:
        raise TenancyError(f"{kind} source {source.id}: {describe_validation_error(exc, 'option')}") from None
    stored, salt = split_salt(vault.decrypt(source.secrets_encrypted))
    session = object_session(source)
    if salt is None and session is not None:  # a source stored before privacy salts existed
        salt = tenant_salt(session, vault, source.tenant_id)
    new = dict(secrets)
    check_secret_values(new)
    try:
        parsed_secrets = connector.parse_secrets(new) if new else connector.parse_secrets(stored)
    except pydantic.ValidationError:
        try:
            parsed_secrets = connector.parse_secrets({**stored, **new})
        except pydantic.ValidationError as exc:  # never echo the values, only field names
            raise TenancyError(f"{kind} source {source.id}: {describe_validation_error(exc, 'secret')}") from None
    runtime = SourceRuntime(
        connector=connector,
        tenant_id=source.tenant_id,
        source_id=source.id,
        options=parsed,
        secrets=parsed_secrets,
        include=include,
        exclude=exclude,
        privacy_salt=salt,
    )
    return SourceChange(
        source_id=source.id,
        options=parsed.model_dump(mode="json"),
        include=include,
        exclude=exclude,
        secrets=with_salt(dict(parsed_secrets), salt) if salt else dict(parsed_secrets),
        runtime=runtime,
        credentials_changed=bool(new) or parsed.model_dump(mode="json") != source.options,
    )


def run_check(rt: SourceRuntime, retry: RetryPolicy = CHECK_RETRY) -> CheckResult:
    """The connector's check (credentials and permissions, no ingest); a connector without one,
    or a provider that cannot be reached, gives a failing verdict with the reason."""
    check = rt.connector.check
    if check is None:
        return CheckResult(ok=False, problems=[f"the {rt.connector.kind} connector has no check"])

    async def go() -> CheckResult:
        async with open_http(rt, retry=retry) as http:
            result: CheckResult = await check(http, rt.options)
            return result

    try:
        return asyncio.run(go())
    except Exception as exc:
        return CheckResult(ok=False, problems=[f"the check could not run: {' '.join(str(exc).split())}"])


def check_view(result: CheckResult) -> dict[str, Any]:
    return {"ok": result.ok, "identity": result.identity, "problems": list(result.problems), **result.details}


def apply_update(source: Source, vault: Vault, change: SourceChange, verdict: bool | None = None) -> None:
    """Store a prepared change. New credentials are "valid" when the check passed, else "unknown"
    (stored with --force): the old rejection no longer applies, and a rejection of the new ones
    alerts again (``credentials_updated_at``)."""
    source.options = change.options
    source.include = change.include
    source.exclude = change.exclude
    source.secrets_encrypted = vault.encrypt(change.secrets)
    if change.credentials_changed:
        source.credentials_status = "valid" if verdict else "unknown"
        source.credentials_updated_at = utcnow()


def set_enabled(source: Source, enabled: bool) -> None:
    source.enabled = enabled


def removal_summary(session: Session, source: Source) -> dict[str, Any]:
    """What removing a source deletes: its rows per entity kind (tombstoned ones too), its task
    history, landed raw pages, quarantined records, cursors and ETags."""
    sid = source.id

    def n(column: Any) -> int:
        return int(session.execute(select(func.count()).where(column == sid)).scalar_one())

    rows = {kind: n(model.source_id) for kind, model in ENTITY_MODELS.items()}  # type: ignore[attr-defined]
    return {
        "source_id": sid,
        "rows": {k: v for k, v in rows.items() if v},
        "rows_total": sum(rows.values()),
        "tasks": n(TaskRun.source_id),
        "raw_pages": n(RawPage.source_id),
        "quarantined": n(Quarantine.source_id),
        "cursors": n(Cursor.source_id),
        "etags": n(HttpValidator.source_id),
    }


def describe_removal(summary: dict[str, Any]) -> str:
    rows = ", ".join(f"{v} {k}" for k, v in summary["rows"].items()) or "no rows"
    return (
        f"{summary['rows_total']} rows ({rows}), {summary['tasks']} tasks of run history, "
        f"{summary['raw_pages']} raw pages, {summary['quarantined']} quarantined records, "
        f"{summary['cursors']} cursors"
    )
