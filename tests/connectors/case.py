"""What one connector tells the tests shared by every connector (tests/connectors/): its
``tests/<kind>/cases.py`` has ``CASE = Provider(...)``, found by :mod:`tests.connectors.providers`.

The shared tests fail for a registered kind without one, so no connector is silently untested;
``headwater connectors new NAME`` writes it with the rest of the connector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox import Sandbox
from connectors.streams import Partition
from tests.ingest_support import ServedSandbox


@dataclass(frozen=True)
class Rejected:
    """A credential the sandbox refuses, and the words its refusal is told in."""

    secrets: dict[str, str]
    run_says: tuple[str, ...]  # in the CONFIG error of a run with it
    check_says: tuple[str, ...] = ()  # in the problem ``check`` names

    def leaked(self, said: str) -> list[str]:
        """The secret values repeated in ``said`` (a user name or an email may be)."""
        return [v for k, v in self.secrets.items() if k not in ("username", "email") and v in said]


def first_partition(served: ServedSandbox, partitions: list[Partition]) -> Partition:
    return partitions[0]


@dataclass(frozen=True)
class PartitionCase:
    """One sub-listing of a partition broken (tests/connectors/test_partition_check.py), and the
    fault paths (``path?query`` templates: ``{k}`` the partition key, ``{i}`` its external id)."""

    stream: str  # the sub-listing that answers "not found"
    listing: tuple[str, ...]  # only that sub-listing of the partition answers "not found"
    itself: tuple[str, ...]  # the partition and everything under it answer "not found"
    check: str  # the path of the direct check of the partition
    code: str = "404"  # how the provider says it (the note names it)
    # which partition to break, of those a first refresh found
    victim: Callable[[ServedSandbox, list[Partition]], Partition] = first_partition

    def paths(self, templates: tuple[str, ...], p: Partition) -> list[str]:
        return [t.format(k=p.key, i=p.values["external_id"]) for t in templates]

    def check_path(self, p: Partition) -> str:
        return self.paths((self.check,), p)[0]


@dataclass(frozen=True)
class AuthForm:
    """One credential form (tests/connectors/http/test_auth.py): its secrets and the
    ``Authorization`` header the connector's auth sends for them."""

    secrets: dict[str, str]
    header: str


@dataclass(frozen=True, kw_only=True)
class Provider:
    """One connector's sandbox and what it answers (words are matched in the error messages)."""

    kind: str
    sandbox: Callable[[], Sandbox]  # a small world
    base_suffix: str = ""  # appended to the sandbox URL for ``base_url``
    rejected: tuple[Rejected, ...]
    revoked_says: tuple[str, ...]  # in the CONFIG error once the provider revokes the credential
    out_of_scope: dict[str, str]  # options under which ``check`` finds nothing to read
    out_of_scope_says: tuple[str, ...]  # in that check's problem
    partition: PartitionCase
    auth_forms: tuple[AuthForm, ...]  # every credential form the connector takes
    credential_forms: tuple[str, ...] = ("secrets",)  # keys of ``/__truth`` holding good secrets
    identity: str | None = None  # who ``check`` says the credential is (None: any name, if ``says_who``)
    says_who: bool = True  # False: the provider's check has no identity to give
    check_details: dict[str, Any] = field(default_factory=dict)  # a subset of the check's details
    # (stream, entity, column): a stream whose paths need the partition key alone, what it loads,
    # and the column naming the partition's external id
    keyed: tuple[str, str, str] | None = None
