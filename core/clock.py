"""Time as the gateway writes it: RFC 3339 UTC with milliseconds, and log-line stamps."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_iso() -> str:
    """RFC 3339 UTC with milliseconds, as every timestamp of the API."""
    return rfc3339(datetime.now(UTC))


def rfc3339(moment: datetime) -> str:
    """A UTC moment as the API writes timestamps: milliseconds and a Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_to_micros(value: str) -> int:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return int(parsed.timestamp() * 1_000_000)


def log_stamp() -> str:
    """The time at the start of a job's log line (seconds, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
