"""A few processes, forked from an API process, that check and parse submitted programs.

A program's cost is bounded by its static checks, but the parsers are third-party code whose
time and memory on odd input nobody promises. So the API process never runs them: it hands the
work to one of these processes and waits on the pipe (cooperatively under gevent, so every other
request of the process goes on meanwhile). Each runs under a memory limit (RLIMIT_AS) and, per
call, a CPU-time limit (RLIMIT_CPU); the API process also stops waiting after `timeout` seconds.
A process over either is killed and replaced, and the submission is refused.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import pickle
import resource
import select
import signal
import struct
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from core import collector, errors
from core.errors import GatewayError, LimitExceeded, ParsersBusy

log = logging.getLogger("gateway.api")
PARENT_CHECK_SECONDS = 1.0  # an idle parse process looks this often for its API process
NICENESS = 5  # the API process comes first when they compete for a core


class ParsePool:
    def __init__(self, processes: int, timeout: float, memory_bytes: int,
                 prepare: Callable[[], None] = lambda: None) -> None:
        """`prepare` runs once, before the first process is forked: what it loads (the
        parsers' own lazy imports) every process then shares instead of loading again."""
        self.processes, self.timeout, self.memory_bytes = processes, timeout, memory_bytes
        self._prepare: Callable[[], None] | None = prepare
        self._slots = threading.BoundedSemaphore(processes)
        self._idle: list[_Parser] = []

    def run(self, function: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """`function(*args)` in a parse process, within `timeout` seconds (default: the
        pool's); its GatewayError is raised here."""
        timeout = timeout or self.timeout
        if not self._slots.acquire(timeout=2 * timeout):
            raise ParsersBusy("Every parse process is busy; try again shortly.")
        try:
            parser = self._idle.pop() if self._idle else None
            if parser is None or not parser.process.is_alive():
                if parser is not None:
                    log.warning("parse process %s had ended (exit code %s); replaced",
                                parser.process.pid, parser.process.exitcode)
                parser = self._new_parser()
            try:
                return parser.call(function, args, timeout)
            finally:  # a refusal too leaves the process for the next call, unless it was killed
                if parser.alive:
                    self._idle.append(parser)
        finally:
            self._slots.release()

    def start(self) -> None:
        """Fork every process now (an API process calls this once it is up): forking, and the
        imports `prepare` makes, then never delay a request."""
        self._idle += [self._new_parser() for _ in range(self.processes - len(self._idle))]

    def _new_parser(self) -> _Parser:
        if self._prepare is not None:
            self._prepare()
            self._prepare = None
        return _Parser(self.memory_bytes)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().kill()


class _Parser:
    # One fork at a time: a process forked while another's pipe was half made would hold that
    # pipe's child end, and the API process would then wait out the timeout, not see the EOF,
    # when that parser dies.
    _forking = threading.Lock()

    def __init__(self, memory_bytes: int) -> None:
        context = multiprocessing.get_context("fork")
        self.memory_bytes = memory_bytes
        with self._forking:
            self.conn, child = context.Pipe()
            self.process = context.Process(target=_serve, args=(child, memory_bytes, os.getpid()),
                                           daemon=True, name="gateway-parser")
            self.process.start()
            child.close()
        # this end never blocks the process: a big program waits for a busy (niced) parse
        # process to read it, and the answer for it to write, in `_wait`, which gevent makes
        # cooperative; the other end is a plain blocking Connection
        os.set_blocking(self.conn.fileno(), False)

    def call(self, function: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        started = time.monotonic()
        deadline = started + timeout
        fd = self.conn.fileno()
        try:
            _write_message(fd, (function, args, timeout), deadline)
            answer = _read_message(fd, deadline)
        except (EOFError, OSError, TimeoutError):
            answer = None
        if answer is None:
            self.kill()
            log.warning("parse process %s stopped (exit code %s) after %g s",
                        self.process.pid, self.process.exitcode, timeout)
            raise self.refusal(time.monotonic() - started, timeout)
        ok, value = answer
        if ok:
            return value
        kind, detail, extra = value
        raise getattr(errors, kind)(detail, **extra)

    def refusal(self, seconds: float, timeout: float) -> LimitExceeded:
        """Why the process was stopped: its time (the deadline here, or RLIMIT_CPU's SIGXCPU);
        else it died, most likely at its memory limit."""
        if seconds < timeout and self.process.exitcode != -signal.SIGXCPU:
            return out_of_memory(self.memory_bytes)
        return LimitExceeded(
            f"checking the programs took more than {timeout:.3g} s "
            "(GATEWAY_PARSE_TIMEOUT_SECONDS, and GATEWAY_PARSE_SECONDS_PER_MB more for long "
            "programs); they are refused", limit="parse_seconds", value=round(seconds, 3),
            maximum=timeout, setting="GATEWAY_PARSE_TIMEOUT_SECONDS")

    @property
    def alive(self) -> bool:
        return not self.conn.closed

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()


def out_of_memory(memory_bytes: int) -> LimitExceeded:
    """How much it needed is not known: only that it was more than the limit."""
    return LimitExceeded(
        f"checking the programs needed more than {memory_bytes} bytes "
        f"({memory_bytes / 2**20:.0f} MiB, GATEWAY_PARSE_MEMORY_BYTES); they are refused",
        limit="parse_memory_bytes", value=None, maximum=memory_bytes,
        setting="GATEWAY_PARSE_MEMORY_BYTES")


def _write_message(fd: int, message: Any, deadline: float) -> None:
    """`message` as Connection.send frames it (a 4-byte length, then the pickle)."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(struct.pack("!i", len(payload)) + payload)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            _wait(fd, select.POLLOUT, deadline)


def _read_message(fd: int, deadline: float) -> Any:
    (size,) = struct.unpack("!i", _read_exactly(fd, 4, deadline))
    data = _read_exactly(fd, size, deadline)
    with collector.paused():
        return pickle.loads(data)


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    chunks, missing = [], size
    while missing:
        try:
            chunk = os.read(fd, min(missing, 1 << 20))
        except BlockingIOError:
            _wait(fd, select.POLLIN, deadline)
            continue
        if not chunk:
            raise EOFError("the parse process closed its end")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _wait(fd: int, event: int, deadline: float) -> None:
    """Until `fd` is ready; TimeoutError past `deadline` (cooperative under gevent, which
    patches select.poll)."""
    poller = select.poll()
    poller.register(fd, event | select.POLLHUP | select.POLLERR)
    left = deadline - time.monotonic()
    if left <= 0 or not poller.poll(left * 1000):
        raise TimeoutError


def _serve(conn: Connection, memory_bytes: int, parent: int) -> None:
    """The parse process: answer calls one after another; end soon after the API process.
    (Not by PR_SET_PDEATHSIG: its signal comes when the *thread* that forked the process ends,
    and a thread may fork one. Nor by the pipe's EOF: parse processes forked later hold this
    one's API end too.)"""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.set_blocking(conn.fileno(), True)
    os.nice(NICENESS)
    gc.freeze()  # what it was forked with is the API process's, never garbage here
    limit = _virtual_memory() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    while True:
        try:
            if not conn.poll(PARENT_CHECK_SECONDS):
                if os.getppid() != parent:
                    return
                continue
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        with collector.paused():
            function, args, timeout = pickle.loads(data)
        _limit_cpu(timeout)
        conn.send(_answer(function, args, memory_bytes))


def _answer(function: Callable[..., Any], args: tuple[Any, ...],
            memory_bytes: int) -> tuple[bool, Any]:
    try:
        return True, function(*args)
    except GatewayError as exc:
        refusal = exc
    except MemoryError:
        refusal = out_of_memory(memory_bytes)
    except RecursionError:
        refusal = errors.InvalidJobInput("the program is nested too deeply to parse")
    except Exception:  # the parsers raise many types; none may become a 500
        log.exception("a parse process failed")  # its words are the library's, not for clients
        refusal = errors.InvalidJobInput("the program could not be read")
    return False, (type(refusal).__name__, refusal.detail, refusal.extra)


def _limit_cpu(seconds: float) -> None:
    """At most `seconds` more CPU time (SIGXCPU ends the process past it)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.getrlimit(resource.RLIMIT_CPU)[1]))


def _virtual_memory() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
