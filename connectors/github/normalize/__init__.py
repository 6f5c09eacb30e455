"""GitHub payloads (pydantic, tolerant of extra and missing optional fields) -> shared-schema rows.

Keys (``external_id``):

* person: the account's numeric id; repository: the repository's numeric id;
* commit: ``<repository id>:<sha>``; branch: ``<repository id>:<name>``;
* pull_request and work_item: ``<repository id>#<number>`` — pull requests and issues share one
  number space per repository, and comments and events only carry the number (``issue_url``,
  ``pull_request_url``), so this key lets them reference their parent without a lookup. The
  provider's numeric id is kept in ``extra["id"]``;
* review, work_item_transition: the numeric id; comment: ``issue_comment:<id>`` or
  ``review_comment:<id>`` (the two kinds have separate id sequences).

Each entity's payload models and normalizers live in their own module (repositories, commits,
pulls, issues); :mod:`.base` has what they share. The streams table refers to them as
``normalize.NAME``.
"""

from __future__ import annotations

from .base import lenient_datetime, number_from_url, numbered_id, person, repo_id, user_id
from .commits import commit, pull_request_commit
from .issues import issue, issue_comment, issue_event
from .pulls import REVIEW_STATES, pull_request, review, review_comment
from .repositories import branch, member, repository

__all__ = [
    "REVIEW_STATES",
    "branch",
    "commit",
    "issue",
    "issue_comment",
    "issue_event",
    "lenient_datetime",
    "member",
    "number_from_url",
    "numbered_id",
    "person",
    "pull_request",
    "pull_request_commit",
    "repo_id",
    "repository",
    "review",
    "review_comment",
    "user_id",
]
