"""SQLAlchemy models of everything Headwater stores."""

from storage.models.base import Base, utcnow
from storage.models.counters import RetiredSample
from storage.models.entities import (
    ENTITY_MODELS,
    Branch,
    Channel,
    Comment,
    Commit,
    EntityMixin,
    Message,
    Person,
    Project,
    PullRequest,
    Release,
    Repository,
    Review,
    Sprint,
    WorkItem,
    WorkItemTransition,
)
from storage.models.ingest import Alert, Cursor, HttpValidator, Quarantine, RawPage
from storage.models.runs import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    Run,
    RunState,
    State,
    TaskRun,
    TaskRunState,
    Trigger,
)
from storage.models.tasklog import TaskLog
from storage.models.tenancy import ApiToken, Source, Tenant

__all__ = [
    "ACTIVE_STATES",
    "ENTITY_MODELS",
    "TERMINAL_STATES",
    "Alert",
    "ApiToken",
    "Base",
    "Branch",
    "Channel",
    "Comment",
    "Commit",
    "Cursor",
    "EntityMixin",
    "HttpValidator",
    "Message",
    "Person",
    "Project",
    "PullRequest",
    "Quarantine",
    "RawPage",
    "Release",
    "Repository",
    "RetiredSample",
    "Review",
    "Run",
    "RunState",
    "Source",
    "Sprint",
    "State",
    "TaskLog",
    "TaskRun",
    "TaskRunState",
    "Tenant",
    "Trigger",
    "WorkItem",
    "WorkItemTransition",
    "utcnow",
]
