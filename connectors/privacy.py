"""Privacy options: names, e-mails, bodies, file paths and branch names changed before anything lands.

What a cautious customer asks for before connecting a source. Three options every connector
accepts (:class:`~connectors.connector.SourceOptions`), each off by default:

* ``redact_people`` — people's names, display names, logins/usernames/nicknames and e-mails
  become a keyed hash (HMAC-SHA256 with the tenant's privacy key). The hash is stable: the same
  e-mail gives the same hash in every source of one tenant (identity matching by e-mail, and by
  login, still works on hashes), and a different one in another tenant. Values are compared
  case-insensitively (trimmed and case-folded before hashing), so are their hashes. An e-mail
  stays e-mail shaped (``<hash>@redacted.invalid``); ``Name <email>`` (a git author) keeps its
  shape with both parts hashed.
* ``strip_bodies`` — message text, comment bodies, commit messages, pull request, issue and
  feature descriptions are removed (``null``).
* ``hash_paths`` — file paths and branch names become a keyed hash (case-sensitive).

A connector *declares* per stream where those values are in its raw records
(``StreamSpec.privacy = Privacy(...)``); the framework applies it to every record of a page
before the page is normalized, landed raw or quarantined (:func:`connectors.runner.run_stream`),
so none of the original values reaches the database.

Paths are dotted keys into a record: a list on the way is entered item by item; a segment may be
a glob over keys (``*url``), ``**`` (any depth, zero or more levels), and may filter list items by
one of their fields (``items[field=assignee|reporter]``). ``embeds`` are strings that *contain*
a value the other declarations hash (a profile URL ending with the login, a ``login:branch``
label): every such value found in them is replaced by its hash; so are they in the bodies when
``strip_bodies`` is off (a commit message signed off by its author). Values that only appear in
a body, or that a body names of another record, are not found there: turn ``strip_bodies`` on.
"""

from __future__ import annotations

import copy
import fnmatch
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "OPTIONS",
    "Hasher",
    "Privacy",
    "PrivacyError",
    "Privatizer",
    "enabled_options",
]

# The option names, as every connector accepts them (see SourceOptions).
OPTIONS = ("redact_people", "strip_bodies", "hash_paths")

_NAME_EMAIL = re.compile(r"^\s*(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")
_SEGMENT = re.compile(r"^(?P<key>[^\[\]]+)(?:\[(?P<field>[^=\]]+)=(?P<values>[^\]]*)\])?$")


class PrivacyError(ValueError):
    """A privacy declaration that cannot be read (raised when the connector is built)."""


@dataclass(frozen=True)
class _Segment:
    key: str
    field: str | None = None
    values: frozenset[str] = frozenset()

    def matches(self, key: str) -> bool:
        return key == self.key or fnmatch.fnmatchcase(key, self.key)

    def keep(self, item: Any) -> bool:
        return self.field is None or (isinstance(item, Mapping) and str(item.get(self.field)) in self.values)


def parse_path(path: str) -> tuple[_Segment, ...]:
    """``a.b[field=x|y].c`` -> its segments; a malformed path raises :class:`PrivacyError`."""
    out: list[_Segment] = []
    for part in path.split("."):
        m = _SEGMENT.match(part)
        if m is None:
            raise PrivacyError(f"privacy path {path!r}: cannot read {part!r} (expected key, glob or key[field=a|b])")
        values = frozenset(m["values"].split("|")) if m["field"] else frozenset()
        out.append(_Segment(m["key"], m["field"], values))
    if out[-1].key == "**":
        raise PrivacyError(f"privacy path {path!r} must not end with '**'")
    return tuple(out)


def _visit(node: Any, segs: tuple[_Segment, ...], leaf: Callable[[Any], Any]) -> None:
    """Call ``leaf`` on every value at ``segs`` under ``node`` and store what it returns, in place."""
    if isinstance(node, list):
        for item in node:
            _visit(item, segs, leaf)
        return
    if not isinstance(node, dict) or not segs:
        return
    seg, rest = segs[0], segs[1:]
    if seg.key == "**":
        _visit(node, rest, leaf)
        for value in list(node.values()):
            _visit(value, segs, leaf)
        return
    for key in list(node):
        if not seg.matches(key):
            continue
        value = node[key]
        if seg.field is not None:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if seg.keep(item):
                    _visit(item, rest, leaf)
            continue
        if rest:
            _visit(value, rest, leaf)
        else:
            node[key] = leaf(value)


@dataclass(frozen=True)
class Privacy:
    """Where a stream's raw records carry what the privacy options change (dotted paths).

    ``people``: names, display names, logins and e-mails (``redact_people``); ``bodies``: message
    text, comment bodies, descriptions (``strip_bodies``); ``paths``: file paths and branch names
    (``hash_paths``); ``embeds``: strings containing such values (profile URLs, labels), in which
    each value hashed in the same record is replaced by its hash.
    """

    people: Sequence[str] = ()
    bodies: Sequence[str] = ()
    paths: Sequence[str] = ()
    embeds: Sequence[str] = ()
    _parsed: dict[str, tuple[tuple[_Segment, ...], ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = {}
        for name in ("people", "bodies", "paths", "embeds"):
            paths = tuple(getattr(self, name))
            object.__setattr__(self, name, paths)
            parsed[name] = tuple(parse_path(p) for p in paths)
        object.__setattr__(self, "_parsed", parsed)

    def covers(self, option: str) -> tuple[str, ...]:
        """The declared paths an option changes (``embeds`` go with both hashing options)."""
        own = {"redact_people": self.people, "strip_bodies": self.bodies, "hash_paths": self.paths}[option]
        return tuple(own)


class Hasher:
    """Keyed hashes of people values and paths: stable for one key, unrelated across keys."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise PrivacyError("a privacy key needs at least 16 bytes")
        self._key = key

    def _digest(self, kind: str, value: str) -> str:
        return hmac.new(self._key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()[:24]

    def person(self, value: str) -> str:
        """A name, login or e-mail -> ``anon-<hash>`` or ``<hash>@redacted.invalid``; a git
        ``Name <email>`` keeps its shape with both parts hashed."""
        m = _NAME_EMAIL.match(value)
        if m is not None and "@" in m["email"]:
            name = self.person(m["name"]) if m["name"] else ""
            return f"{name} <{self.person(m['email'])}>".strip()
        norm = value.strip().casefold()
        if not norm:
            return value
        digest = self._digest("person", norm)
        return f"{digest}@redacted.invalid" if "@" in norm else f"anon-{digest}"

    def path(self, value: str) -> str:
        """A file path or branch name -> ``path-<hash>`` (paths are case-sensitive)."""
        return f"path-{self._digest('path', value)}" if value else value

    def __repr__(self) -> str:
        return "Hasher(<key hidden>)"


def enabled_options(options: Any) -> frozenset[str]:
    """The privacy options a source has on (read from its parsed options)."""
    return frozenset(name for name in OPTIONS if getattr(options, name, False))


class Privatizer:
    """Applies one source's privacy options to raw records, as a stream declares them."""

    def __init__(self, enabled: Iterable[str], hasher: Hasher | None) -> None:
        self.enabled = frozenset(enabled)
        unknown = self.enabled - set(OPTIONS)
        if unknown:
            raise PrivacyError(f"unknown privacy options: {', '.join(sorted(unknown))}")
        if self.enabled & {"redact_people", "hash_paths"} and hasher is None:
            raise PrivacyError("hashing names or paths needs the tenant's privacy key")
        self.hasher = hasher

    @property
    def active(self) -> bool:
        return bool(self.enabled)

    def records(self, privacy: Privacy | None, records: list[Any]) -> list[Any]:
        if not self.active or privacy is None:
            return records
        return [self.record(privacy, r) if isinstance(r, Mapping) else r for r in records]

    def record(self, privacy: Privacy, record: Mapping[str, Any]) -> dict[str, Any]:
        """A changed deep copy of ``record``; the original is left as it was."""
        out: dict[str, Any] = copy.deepcopy(dict(record))
        parsed = privacy._parsed
        replaced: dict[str, str] = {}
        produced: set[str] = set()

        def hashing(fn: Callable[[str], str]) -> Callable[[Any], Any]:
            def leaf(value: Any) -> Any:
                if isinstance(value, str):
                    if value in produced:  # matched by two declared paths: hashed once
                        return value
                    hashed = fn(value)
                    if value and hashed != value:
                        replaced[value] = hashed
                        produced.add(hashed)
                    return hashed
                if isinstance(value, list):
                    return [leaf(v) for v in value]
                return value

            return leaf

        hasher = self.hasher
        if "redact_people" in self.enabled and hasher is not None:
            for segs in parsed["people"]:
                _visit(out, segs, hashing(hasher.person))
        if "hash_paths" in self.enabled and hasher is not None:
            for segs in parsed["paths"]:
                _visit(out, segs, hashing(hasher.path))
        if "strip_bodies" in self.enabled:
            for segs in parsed["bodies"]:
                _visit(out, segs, lambda _value: None)
        if replaced:
            pattern = re.compile("|".join(re.escape(v) for v in sorted(replaced, key=len, reverse=True)))

            def scrub(value: Any) -> Any:
                if isinstance(value, str):
                    return pattern.sub(lambda m: replaced[m.group(0)], value)
                if isinstance(value, list):
                    return [scrub(v) for v in value]
                if isinstance(value, dict):
                    return {k: scrub(v) for k, v in value.items()}
                return value

            # bodies kept (strip_bodies off) lose the names and paths of this record too
            kept_bodies = () if "strip_bodies" in self.enabled else parsed["bodies"]
            for segs in (*parsed["embeds"], *kept_bodies):
                _visit(out, segs, scrub)
        return out


def tenant_key(salt: str) -> bytes:
    """The HMAC key of a tenant, from its privacy salt (a random secret kept with its sources)."""
    return hashlib.sha256(b"headwater-privacy\0" + salt.encode()).digest()


def describe(privacy: Privacy | None, option: str) -> list[str]:
    """The declared paths ``option`` changes, for docs and ``connectors describe``."""
    return list(privacy.covers(option)) if privacy is not None else []


def declared(streams: Iterable[Any]) -> Mapping[str, Privacy | None]:
    """Each stream's privacy declaration (None: not declared)."""
    return {s.name: s.privacy for s in streams}
