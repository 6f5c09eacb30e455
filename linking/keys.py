"""Jira issue keys in free text (titles, branch names, commit messages, chat messages).

A key is ``PROJECT-NUMBER`` with an upper-case project key (a letter, then letters, digits or
``_``, as Jira allows) and a number without a leading zero, standing on its own: not glued to
letters or digits on either side (``XALPHA-1`` and ``ALPHA-1b`` are not keys; ``feature/ALPHA-1-login``
and ``[ALPHA-1]`` are). Jira matches keys in upper case only, so ``alpha-1`` is not one.

Text inside URLs is skipped: a URL names a place (often another site), not the work it is
about. Which candidates are links is decided by the tenant's Jira projects (``known_keys``):
``UTF-8`` or ``ISO-9001`` look like keys but name no project the tenant's Jira has.
"""

from __future__ import annotations

import re
from collections.abc import Collection

KEY = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]+)-([1-9][0-9]*)(?![A-Za-z0-9])")
URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


def candidates(text: str | None) -> list[str]:
    """Every key-shaped token outside URLs, in order of appearance, without repeats."""
    if not text:
        return []
    out: dict[str, None] = {}
    for m in KEY.finditer(URL.sub(" ", text)):
        out[f"{m.group(1)}-{m.group(2)}"] = None
    return list(out)


def project_of(key: str) -> str:
    return key.rsplit("-", 1)[0]


def keys_in(text: str | None, projects: Collection[str]) -> list[str]:
    """The keys in ``text`` whose project is one of ``projects`` (the tenant's Jira project keys)."""
    return [k for k in candidates(text) if project_of(k) in projects]
