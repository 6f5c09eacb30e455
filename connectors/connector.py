"""What a connector is: options and secrets models, auth, streams and partition discovery."""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from connectors.declarations import check as check_declarations
from connectors.http.classify import Classifier, classify_response
from connectors.http.client import HttpClient
from connectors.streams import Partition, PartitionCheck, StreamContext, StreamSpec


class SourceOptions(BaseModel):
    """Options every connector accepts; providers subclass and add theirs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    # Privacy options (connectors.privacy), applied before anything is landed, raw pages included.
    redact_people: bool = Field(
        default=False,
        description=(
            "Privacy: store people's names, display names, logins and e-mails as a keyed hash, stable "
            "within the tenant (matching by e-mail or login still works), never the values themselves"
        ),
    )
    strip_bodies: bool = Field(
        default=False,
        description=(
            "Privacy: store no message text, comment bodies, commit messages or pull request, issue "
            "and feature descriptions (titles are kept)"
        ),
    )
    hash_paths: bool = Field(
        default=False,
        description="Privacy: store file paths and branch names as a keyed hash, stable within the tenant",
    )

    @model_validator(mode="before")
    @classmethod
    def _privacy_group(cls, data: Any) -> Any:
        """``privacy.redact_people=true`` (the option group's spelling) is ``redact_people``."""
        if not isinstance(data, dict) or not any(isinstance(k, str) and k.startswith("privacy.") for k in data):
            return data
        return {(k.removeprefix("privacy.") if isinstance(k, str) else k): v for k, v in data.items()}

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"must be an http(s) URL such as https://api.example.com, got {value!r}")
        return value.rstrip("/")


class SourceSecrets(BaseModel):
    """Secrets are SecretStr: never shown by repr(), str() or model_dump_json(); validation errors
    never echo the input either (a model-level validator would otherwise print every value)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    identity: str | None = None
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


def credential_fingerprint(kind: str, base_url: str, secrets: SourceSecrets) -> str:
    """A stable, non-reversible id of a credential, for rate budgets shared across workers."""
    h = hashlib.sha256(f"{kind}|{base_url}".encode())
    for name, value in sorted(secrets):
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        h.update(f"|{name}={raw}".encode())
    return h.hexdigest()[:24]


@dataclass(frozen=True)
class ConnectorMeta:
    """What the dashboard and CLI show for a connector, so neither needs an edit for a new one."""

    display_name: str  # e.g. "GitHub"
    scope_option: str | None = None  # the option naming what a source reads, e.g. "org"
    badge_color: str = "#57606a"  # CSS colour of the kind's badge


@dataclass(frozen=True)
class Connector:
    """A provider, declared as data plus a few hooks.

    ``discovery_stream`` names the source-level stream whose rows (of ``partition_entity``)
    are the partitions; ``partition_of`` turns such a row into a :class:`Partition` (or None to
    skip it, e.g. archived repositories when not wanted). ``partition_check`` is the one GET
    that says whether a partition still exists, asked when one of its listings answers "not
    found" (only discovery or this check may tombstone a partition).
    """

    kind: str
    options_model: type[SourceOptions]
    secrets_model: type[SourceSecrets]
    auth: Callable[[Any], httpx.Auth | None]
    streams: Sequence[StreamSpec]
    discovery_stream: str | None = None
    partition_entity: str | None = None  # default: the discovery stream's Snapshot entity
    partition_of: Callable[[Mapping[str, Any], Any], Partition | None] | None = None
    partition_check: PartitionCheck | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    classify: Classifier = classify_response
    check: Callable[[HttpClient, Any], Any] | None = None  # async (http, options) -> CheckResult
    max_in_flight: int = 8
    sandbox: str | None = None  # "module:factory" of the fake API, for `headwater sandbox`
    # names Partition.values always has (checked against path placeholders), e.g. ("owner", "repo")
    partition_values: tuple[str, ...] = ()
    # path values computed from the context, e.g. {"group_path": lambda ctx: quote(ctx.options.group)}
    derived: Mapping[str, Callable[[StreamContext], Any]] = field(default_factory=dict)
    meta: ConnectorMeta | None = None  # how people see it (dashboard, CLI); default from the kind

    def __post_init__(self) -> None:
        if self.partition_entity is None and self.discovery_stream is not None:
            # A discovery listing snapshots the partitions it lists: those rows are the partitions.
            disc = next((s for s in self.streams if s.name == self.discovery_stream), None)
            if disc is not None and disc.snapshot is not None:
                object.__setattr__(self, "partition_entity", disc.snapshot.entity)
        check_declarations(self)

    @property
    def metadata(self) -> ConnectorMeta:
        return self.meta or ConnectorMeta(display_name=self.kind.title())

    def stream(self, name: str) -> StreamSpec:
        for spec in self.streams:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.kind} has no stream {name!r}")

    def parse_options(self, options: Mapping[str, Any]) -> SourceOptions:
        return self.options_model.model_validate(dict(options))

    def parse_secrets(self, secrets: Mapping[str, Any]) -> SourceSecrets:
        return self.secrets_model.model_validate(dict(secrets))


def matches(partition: Partition, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Include/exclude glob patterns against the partition key or any of its names."""
    names = (partition.key, *partition.names)

    def hit(patterns: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(n.lower(), p.lower()) for p in patterns for n in names)

    if include and not hit(include):
        return False
    return not (exclude and hit(exclude))
