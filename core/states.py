"""Job statuses and the one table of transitions between them.

Every status change in the gateway goes through `JobStore.transition`, which checks this table
atomically inside Redis: a job reaches exactly one final state and never leaves it.
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    INITIALIZING = "INITIALIZING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})

# to-status -> the statuses it may be entered from
ALLOWED_FROM: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.INITIALIZING, JobStatus.RUNNING}),  # RUNNING: retry
    JobStatus.RUNNING: frozenset({JobStatus.INITIALIZING, JobStatus.QUEUED}),
    JobStatus.DONE: frozenset({JobStatus.INITIALIZING, JobStatus.QUEUED, JobStatus.RUNNING}),
    JobStatus.ERROR: frozenset({JobStatus.INITIALIZING, JobStatus.QUEUED, JobStatus.RUNNING}),
    JobStatus.CANCELLED: frozenset({JobStatus.INITIALIZING, JobStatus.QUEUED, JobStatus.RUNNING}),
}

# which timestamp a status stamps on the job record when entered
TIMESTAMP_FIELD: dict[JobStatus, str] = {
    JobStatus.QUEUED: "queued",
    JobStatus.RUNNING: "running",
    JobStatus.DONE: "finished",
    JobStatus.ERROR: "finished",
    JobStatus.CANCELLED: "finished",
}
