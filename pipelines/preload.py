"""What a local worker process needs imported before its first task: the fork server
(``pipelines.cluster``) imports this once, and every worker forked from it starts ready."""

from __future__ import annotations

# What a forked worker process runs first: imported after the fork, it would delay every start.
import distributed.nanny
import distributed.worker  # noqa: F401

import linking.task  # noqa: F401 (the derived task)
import pipelines.worker  # noqa: F401 (execute_task and what it runs on)
from connectors.registry import available_kinds

available_kinds()  # every connector of this build
