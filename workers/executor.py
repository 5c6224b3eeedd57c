"""Runs simulations in a long-lived child process that the worker can kill.

An RQ `SimpleWorker` does not fork per job (a fork costs more than a small simulation), but a
simulation inside Aer's C++ cannot be interrupted. So the worker hands each job to one child
process, forked once after the simulators were warmed and reused for every job; cancelling or
timing out a job kills that child (the simulation really stops) and the next job forks a new one.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable
from enum import StrEnum
from multiprocessing.connection import Connection
from typing import Any

from workers.runtimes.local import LocalRuntime

PR_SET_PDEATHSIG = 1
# signals a process gets from its own faults (a crash, a failed allocation under RLIMIT_AS): a
# simulation process dying of one died of its job; of any other signal, it was killed from
# outside (an operator, the host's OOM killer), which is the worker's failure, not the job's
FAULTS = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL,
                    signal.SIGSYS, signal.SIGTRAP, signal.SIGXCPU, signal.SIGXFSZ})
FINAL_KINDS = ("result", "error")  # the messages that end a job's batch at once
Batch = list[tuple[str, Any]]  # messages from the child, in order: (kind, data)


class Outcome(StrEnum):
    FINISHED = "finished"  # the runtime reported its result or its error
    STOPPED = "stopped"  # `keep_going` said no: cancelled or deleted
    TIMED_OUT = "timed-out"
    CRASHED = "crashed"  # the child process died of its job (a crash, out of memory)
    KILLED = "killed"  # the child process was killed by a signal the gateway did not send


class Executor:
    def __init__(self, runtime: LocalRuntime, poll_seconds: float = 0.1,
                 flush_seconds: float = 0.05, memory_bytes: int | None = None) -> None:
        self.runtime = runtime
        self.memory_bytes = memory_bytes  # the child's address space beyond what it inherits
        self.poll_seconds = poll_seconds
        self.flush_seconds = flush_seconds
        self._process: Any = None
        self._conn: Connection | None = None
        self._deadline: float | None = None  # of the job in the child; None when idle
        self._time_limit = 0.0

    def start(self) -> None:
        if self._process is not None and self._process.is_alive():
            return
        parent, child = multiprocessing.get_context("fork").Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(child, self.runtime, self.memory_bytes), daemon=True,
            name="gateway-executor"
        )
        self._process.start()
        child.close()
        self._conn = parent

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def busy(self) -> bool:
        return self._deadline is not None

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._process, self._conn, self._deadline = None, None, None

    def submit(self, job: dict[str, Any], inputs: dict[str, Any], time_limit: float) -> None:
        """Hand one job to the child, which starts on it at once; `follow` sees it through."""
        self.start()
        assert self._conn is not None
        self._conn.send((job, inputs))
        self._deadline, self._time_limit = time.monotonic() + time_limit, time_limit

    def follow(
        self, on_messages: Callable[[Batch], None], keep_going: Callable[[], bool]
    ) -> tuple[Outcome, str]:
        """Forward the submitted job's messages; stop the child when told to or over time.

        Messages are handed on in batches, each one Redis write for the worker: a batch goes
        when it holds the job's `result` or `error`, or `flush_seconds` after its first
        message. Should `on_messages` raise, the child is stopped too: the rest of this job's
        messages must not be read as the next job's."""
        try:
            return self._follow(on_messages, keep_going)
        except BaseException:
            self.stop()
            raise

    def _follow(
        self, on_messages: Callable[[Batch], None], keep_going: Callable[[], bool]
    ) -> tuple[Outcome, str]:
        assert self._conn is not None and self._deadline is not None
        batch: Batch = []
        flush_at, next_check = 0.0, time.monotonic() + self.poll_seconds
        while True:
            wake = min(next_check, flush_at) if batch else next_check
            try:
                ready = self._conn.poll(max(0.0, wake - time.monotonic()))
                message = self._conn.recv() if ready else None
            except (EOFError, OSError):
                code = self._exit_code()
                self.stop()
                if batch:
                    on_messages(batch)  # what it said before it died
                if code is not None and code < 0 and -code not in FAULTS:
                    return Outcome.KILLED, f"the simulation process was killed by {_name(-code)}"
                return Outcome.CRASHED, self._death(code)
            if message is not None:  # a list of messages; the job's last ends with "end"
                ended = message[-1][0] == "end"
                if not batch:
                    flush_at = time.monotonic() + self.flush_seconds
                batch += message[:-1] if ended else message
                if ended:
                    self._deadline = None
                    if batch:
                        on_messages(batch)
                    return Outcome.FINISHED, ""
            if batch and (batch[-1][0] in FINAL_KINDS or time.monotonic() >= flush_at):
                on_messages(batch)
                batch = []
            if time.monotonic() < next_check:
                continue
            next_check = time.monotonic() + self.poll_seconds
            if not keep_going():
                self.stop()
                return Outcome.STOPPED, ""
            if time.monotonic() > self._deadline:
                self.stop()
                return Outcome.TIMED_OUT, (f"the job exceeded its time limit of "
                                           f"{self._time_limit:g} s")


    def _exit_code(self) -> int | None:
        """The child's exit code, once it is reaped: its pipe closes a moment before."""
        if self._process is None:
            return None
        self._process.join(5)
        return self._process.exitcode

    def _death(self, code: int | None) -> str:
        said = f"the simulation process died (exit code {code})"
        if self.memory_bytes is None or code not in (-signal.SIGABRT, -signal.SIGSEGV, 1):
            return said
        return (f"{said}: out of memory, most likely; a simulation may use "
                f"{gib(self.memory_bytes)} (GATEWAY_WORKER_MEMORY_BYTES)")


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # a real-time signal
        return f"signal {signum}"


def _serve(conn: Connection, runtime: LocalRuntime, memory_bytes: int | None) -> None:
    """The child: die with the worker, then run jobs one after another, within its memory."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6").prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # a stop is the worker's to handle: Ctrl-C, and a SIGTERM sent to the worker's whole process
    # group (systemd's KillMode=control-group, `kill -TERM -- -PGID`, container inits) lets the
    # worker drain or hand the job back; the worker ends this process with SIGKILL when it must
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if memory_bytes is not None:
        limit_memory(memory_bytes)
    while True:
        try:
            job, inputs = conn.recv()
        except EOFError:
            return
        outbox = Outbox(conn)
        try:
            runtime.run(job, inputs, outbox)
        except Exception as exc:  # any failure of a job is reported, never kills the child
            outbox("error", {"message": describe_failure(exc, memory_bytes)})
        outbox("end", None)
        outbox.flush()


class Outbox:
    """The child's messages to the worker, sent together when the runtime starts work that may
    take a while, and at the end: a tiny job costs two sends, not one per message."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pending: Batch = []

    def __call__(self, kind: str, data: Any) -> None:
        self.pending.append((kind, data))

    def flush(self) -> None:
        if self.pending:
            self.conn.send(self.pending)
            self.pending = []


def limit_memory(memory_bytes: int) -> None:
    """This process may grow by `memory_bytes` (RLIMIT_AS: beyond it, allocations fail)."""
    with open("/proc/self/statm") as statm:
        now = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = now + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard < 0 else min(limit, hard), hard))


def gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"


def describe_failure(exc: BaseException, memory_bytes: int | None = None) -> str:
    """A person-readable cause: the exception's own words, its type, and where it came from;
    running out of memory says so, with the worker's limit."""
    if memory_bytes is not None and (isinstance(exc, MemoryError)
                                     or "Insufficient memory" in str(exc)
                                     or "Cannot allocate memory" in str(exc)):
        return (f"out of memory: {type(exc).__name__}: {exc} (a simulation may use "
                f"{gib(memory_bytes)}: GATEWAY_WORKER_MEMORY_BYTES)")
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    if where is None:
        return f"{type(exc).__name__}: {exc}"
    origin = f" (in {where.name}, {where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
    return f"{type(exc).__name__}: {exc}{origin}"
