"""How a worker process lives: RQ's loop, kept going across Redis outages, and graceful stops
(a job's life is `core/transitions.py`).

- SIGTERM (or Ctrl-C): RQ's warm shutdown, no new job. The running job may finish within
  GATEWAY_WORKER_DRAIN_SECONDS; past that, `run_job` stops it and hands it back to the queue
  without counting an attempt (`Transitions.requeue`). Then the process exits.
- A second SIGTERM: RQ raises SystemExit inside the job; `run_job` hands it back on its way out.
- SIGKILL: the job's lease runs out and another worker's sweeper queues it again.
- Redis lost or stalled, or failing over to a replica: RQ's loop quits on some errors (a
  timeout, a failed write between two jobs); it is started again, with backoff, until Redis (or
  the promoted replica, which its connection asks the sentinels for) answers.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import redis
from redis.client import Pipeline
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException
from rq.utils import now, utcformat
from rq.worker import WorkerStatus

from core import queueing
from core.store.connection import passing_refusal

if TYPE_CHECKING:
    from workers.context import WorkerContext

log = logging.getLogger("gateway.worker")
WORKER_TTL = 60  # RQ: a worker silent this long is dead
# RQ's blocking dequeue (its default: WORKER_TTL - 15), and its socket timeout (RQ's margin): a
# primary that died without a word, or was replaced, is left within seconds
DEQUEUE_SECONDS = 5
DEQUEUE_SOCKET_SECONDS = DEQUEUE_SECONDS + 10
# a Redis back, or a replica promoted, is found within this; a try costs a connection attempt
MAX_BACKOFF_SECONDS = 5.0
HEARTBEAT_SECONDS = 10.0  # well within WORKER_TTL
RQ_CONNECTIONS = 10  # RQ's loop holds one, its pub/sub thread another
T = TypeVar("T")


class Stopping:
    """Set by the first SIGTERM: until when the running job may go on."""

    def __init__(self) -> None:
        self.deadline: float | None = None

    def begin(self, drain_seconds: float) -> None:
        if self.deadline is None:
            self.deadline = time.monotonic() + drain_seconds

    @property
    def requested(self) -> bool:
        return self.deadline is not None

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class GatewayWorker(SimpleWorker):
    """RQ's SimpleWorker, telling the running job when a warm shutdown starts, and running
    dispatch tokens without RQ's per-job records.

    A dispatch token (`core/queueing.py`) runs whichever local job is fairly next, and the
    gateway keeps that job's books itself: its lease, its attempts, the sweeper that recovers
    it. RQ's records of the token (an execution, the started and finished registries, a
    result, the worker's counters) would be a second set nobody reads, at about 50 Redis
    commands per job. So a token's hash is deleted as it is taken, and the token runs under RQ's
    timeout (`death_penalty_class`) with the worker marked busy, as RQ would. Other tasks (IBM
    Quantum's steps) go RQ's whole way. The worker's own heartbeat is written at most every
    HEARTBEAT_SECONDS, not several times per job: RQ counts a worker alive for WORKER_TTL."""

    stopping: Stopping
    drain_seconds: float
    _suspension_checked = 0.0  # monotonic time of the last look for `rq suspend`
    _scheduler_checked = 0.0  # and at RQ's scheduler process
    max_connection_wait_time = MAX_BACKOFF_SECONDS  # RQ's own backoff while dequeueing (60 s)

    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_SECONDS

    def handle_warm_shutdown_request(self) -> None:
        super().handle_warm_shutdown_request()
        self.stopping.begin(self.drain_seconds)
        if self.get_state() == WorkerStatus.BUSY:
            log.info("stopping: no new job; the running one has %g s to finish, then goes "
                     "back to the queue", self.drain_seconds)
        else:
            log.info("stopping: no job is running")

    def execute_job(self, job: Job, queue: Queue) -> None:
        if job.func_name != queueing.TASK:
            super().execute_job(job, queue)
            return
        pipe = self.connection.pipeline(transaction=False)
        self._state = WorkerStatus.BUSY  # a SIGTERM now drains (RQ's _shutdown reads this)
        self._beat(pipe, self.get_heartbeat_ttl(job))  # counted alive while the token runs
        pipe.delete(job.key)
        pipe.execute()
        try:
            with self.death_penalty_class(job.timeout or queueing.RQ_TIMEOUT_MARGIN,
                                          JobTimeoutException, job_id=job.id):
                job.func(*job.args, **job.kwargs)
        except Exception:  # run_next fails its job itself; whatever escapes is logged here
            log.exception("dispatch token %s failed", job.id)
        finally:  # idle, and counted alive for WORKER_TTL again (not the token's timeout)
            self._state = WorkerStatus.IDLE
            pipe = self.connection.pipeline(transaction=False)
            self._beat(pipe, self.worker_ttl + 60)
            pipe.execute()

    def _beat(self, pipe: Pipeline, ttl: int) -> None:
        """RQ's `set_state` and `heartbeat` in one write."""
        self.last_heartbeat = now()
        pipe.hset(self.key, mapping={"state": self._state,
                                     "last_heartbeat": utcformat(self.last_heartbeat)})
        pipe.expire(self.key, ttl)

    def heartbeat(self, timeout: int | None = None, pipeline: Pipeline | None = None) -> None:
        """Called between two jobs, and before every blocking dequeue."""
        if time.monotonic() - self._scheduler_checked > HEARTBEAT_SECONDS:
            self._scheduler_checked = time.monotonic()
            self._revive_scheduler()
        recent = self.last_heartbeat is not None and (
            (now() - self.last_heartbeat).total_seconds() < HEARTBEAT_SECONDS)
        if timeout is None and recent:
            return
        super().heartbeat(timeout, pipeline)

    def _revive_scheduler(self) -> None:
        """RQ's scheduler process (IBM Quantum's rescheduled steps) dies when Redis does not
        answer, and RQ starts another only at its maintenance, every 10 minutes: here, within
        HEARTBEAT_SECONDS, by whichever worker takes the scheduler's lock (the dead one's
        lapses after a minute)."""
        scheduler = self.scheduler
        if scheduler is not None and not (scheduler._process and scheduler._process.is_alive()):
            with contextlib.suppress(redis.RedisError):
                scheduler.acquire_locks(auto_start=True)

    def set_state(self, state: str, pipeline: Pipeline | None = None) -> None:
        if pipeline is None and state == self.get_state():
            return  # RQ's loop sets IDLE again and again
        super().set_state(state, pipeline)

    def check_for_suspension(self, burst: bool) -> None:
        """`rq suspend` is seen within HEARTBEAT_SECONDS, not looked for before every job."""
        if time.monotonic() - self._suspension_checked > HEARTBEAT_SECONDS:
            self._suspension_checked = time.monotonic()
            super().check_for_suspension(burst)


def work(ctx: WorkerContext) -> None:
    """RQ's loop until a stop is requested, started again whenever Redis made it quit."""
    backoff = 1.0
    while not ctx.stopping.requested:
        started = time.monotonic()
        try:
            _worker(ctx).work(with_scheduler=True, logging_level=ctx.config.LOG_LEVEL)
        except redis.RedisError as exc:
            log.warning("RQ's loop failed: %s: %s", type(exc).__name__, exc)
        if ctx.stopping.requested:
            return
        backoff = 1.0 if time.monotonic() - started > 60 else min(backoff * 2, MAX_BACKOFF_SECONDS)
        log.warning("RQ's loop ended without a stop request (Redis unreachable?); starting it "
                    "again in %g s", backoff)
        _pause(ctx, backoff)


def _worker(ctx: WorkerContext) -> GatewayWorker:
    # a connection of its own, for RQ's blocking dequeue; through the sentinels when they are
    # set, like every other (RQ's scheduler process rebuilds it)
    connection = ctx.redis.client(False, DEQUEUE_SOCKET_SECONDS, max_connections=RQ_CONNECTIONS,
                                  connect_timeout=ctx.config.REDIS_TIMEOUT_SECONDS)
    worker = GatewayWorker([ctx.ibm.queue, ctx.queue], connection=connection,
                           serializer=JSONSerializer, worker_ttl=WORKER_TTL)
    worker.stopping, worker.drain_seconds = ctx.stopping, ctx.config.WORKER_DRAIN_SECONDS
    return worker


def _pause(ctx: WorkerContext, seconds: float) -> None:
    """Sleep between two runs of RQ's loop; a SIGTERM or Ctrl-C meanwhile ends the process."""
    def stop(_signum: int, _frame: object) -> None:
        ctx.stopping.begin(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not ctx.stopping.requested:
        time.sleep(0.1)


def patiently(seconds: float, write: Callable[[], T]) -> T:
    """`write()`, tried again while Redis is unreachable, stalled, failing over or refusing
    writes (out of memory, read-only, no replica in sync), for up to `seconds`: a job that
    finishes during a short outage keeps its result (the last error is raised after; the
    sweeper then recovers the job)."""
    deadline, pause = time.monotonic() + seconds, 0.2
    while True:
        try:
            return write()
        except redis.RedisError as exc:
            passing = isinstance(exc, (redis.ConnectionError, redis.TimeoutError))
            if not (passing or passing_refusal(exc)) or time.monotonic() + pause > deadline:
                raise
            log.warning("Redis write failed (%s); trying again in %.1f s", type(exc).__name__,
                        pause)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
