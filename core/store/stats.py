"""Figures about all jobs (for queue estimates and Prometheus) and turns at periodic chores.

Keys (prefix `gw` by default), owned by this module:
    {p}:stats:transitions   hash status -> jobs that entered it (written by every change)
    {p}:stats:durations     list of recent run times in seconds, newest first (written by final
                            changes; the last 50 are read, and it is trimmed to them past 100)
    {p}:turn:{chore}        taken by one worker per period, with a TTL of that period
`lua/transition.lua` writes the first two; their keys are passed to it from here.
"""

from __future__ import annotations

from core.store.connection import Connection

RECENT_RUNS = 50


def transitions_key(prefix: str) -> str:
    return f"{prefix}:stats:transitions"


def durations_key(prefix: str) -> str:
    return f"{prefix}:stats:durations"


def turn_key(prefix: str, chore: str) -> str:
    return f"{prefix}:turn:{chore}"


class Stats:
    def __init__(self, connection: Connection) -> None:
        self.redis = connection.text
        self.prefix = connection.prefix

    def recent_pace(self, default: float = 1.0) -> float:
        """Average run time of the last 50 jobs, in seconds."""
        recent = [float(x) for x in self.redis.lrange(durations_key(self.prefix), 0,
                                                      RECENT_RUNS - 1)]
        return sum(recent) / len(recent) if recent else default

    def transitions(self) -> dict[str, int]:
        """How many jobs entered each status, ever."""
        found = self.redis.hgetall(transitions_key(self.prefix))
        return {status: int(count) for status, count in found.items()}  # type: ignore[union-attr]

    def record_run(self, seconds: float) -> None:
        """Remember how long a job ran (a final change does it in `lua/transition.lua`)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.lpush(durations_key(self.prefix), round(seconds, 4))
        pipe.ltrim(durations_key(self.prefix), 0, RECENT_RUNS - 1)
        pipe.execute()

    def take_turn(self, chore: str, seconds: float) -> bool:
        """True for one caller per `seconds` across all workers (periodic chores)."""
        return bool(self.redis.set(turn_key(self.prefix, chore), "1", nx=True,
                                   px=int(seconds * 1000)))
