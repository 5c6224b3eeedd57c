"""The IBM Quantum account of this process: one `QiskitRuntimeService`, made on first use.

Everything that talks to IBM goes through `Account`, and every failure comes out of it as an
`UpstreamError` of a known kind, with the token taken out of its message. Each call is counted
by operation (the client method's name) and outcome (`ok` or the kind of failure), with its time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from core import metrics
from core.config import Config
from core.ibm.trouble import Trouble, UpstreamError, classify, redact, redact_logs

JOB_CACHE_SIZE = 1024


class Account:
    """The client, the devices and upstream jobs it handed out (kept for a while)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        redact_logs(config.IBM_TOKEN)  # one account per process: installed once
        self._service: Any = None
        self._lock = threading.Lock()
        self._backends: dict[str, tuple[float, Any]] = {}
        self._jobs: OrderedDict[str, Any] = OrderedDict()

    @property
    def configured(self) -> bool:
        return bool(self.config.IBM_TOKEN)

    def redact(self, text: str) -> str:
        return redact(text, self.config.IBM_TOKEN)

    def call(self, what: str, action: Any, *args: Any, operation: str = "", **kwargs: Any) -> Any:
        """`action(*args, **kwargs)`; any failure of the client becomes an UpstreamError.
        `operation` names it in the metrics (by default, the method's name)."""
        with _counted(operation or getattr(action, "__name__", "call")):
            return self._call(what, action, *args, **kwargs)

    def _call(self, what: str, action: Any, *args: Any, **kwargs: Any) -> Any:
        from qiskit.providers.exceptions import QiskitBackendNotFoundError

        try:
            return action(*args, **kwargs)
        except UpstreamError:
            raise
        except QiskitBackendNotFoundError as exc:
            raise self._why_no_backend(what, exc) from None
        except Exception as exc:
            raise classify(exc, what, self.config.IBM_TOKEN) from None

    def _why_no_backend(self, what: str, exc: Exception) -> UpstreamError:
        """The client reports any failure to list backends (a 401 included) as "no backend
        matches"; one cheap request tells a refused account from a missing device."""
        try:
            self.service().usage()
        except Exception as probe:
            return classify(probe, what, self.config.IBM_TOKEN)
        return UpstreamError(Trouble.NOT_FOUND, redact(f"{what}: {exc}", self.config.IBM_TOKEN))

    # -- the service and its parts ---------------------------------------------------------------
    def service(self) -> Any:
        with self._lock:
            if self._service is None:
                with _counted("connect"):
                    try:
                        self._service = self._connect()
                    except Exception as exc:
                        token = self.config.IBM_TOKEN
                        raise classify(exc, "connecting to IBM Quantum", token) from None
            return self._service

    def _connect(self) -> Any:
        """The client, once one request proved the account works (the client's constructor
        takes a refused account for an instance without devices and carries on)."""
        from qiskit_ibm_runtime import QiskitRuntimeService

        c = self.config
        service = QiskitRuntimeService(channel=c.IBM_CHANNEL, token=c.IBM_TOKEN,
                                       instance=c.IBM_INSTANCE or None, url=c.IBM_URL or None)
        service.usage()
        return service

    def backend(self, name: str) -> Any:
        """The device (configuration and properties fetched once per refresh period)."""
        cached = self._backends.get(name)
        if cached and time.monotonic() - cached[0] < self.config.IBM_BACKENDS_REFRESH_SECONDS:
            return cached[1]
        service = self.service()
        backend = self.call(f"reading backend {name}", service.backend, name)
        self.call(f"reading the properties of {name}", lambda: backend.target,
                  operation="properties")
        self._backends[name] = (time.monotonic(), backend)
        return backend

    def devices(self) -> list[Any]:
        service = self.service()
        found = self.call("listing backends", service.backends)
        for backend in found:
            self.call(f"reading the properties of {backend.name}", lambda b=backend: b.target,
                      operation="properties")
            self._backends[backend.name] = (time.monotonic(), backend)
        return found

    def job(self, runtime_job_id: str) -> Any:
        """The upstream job object, kept per process so that a status check is one request."""
        if runtime_job_id in self._jobs:
            self._jobs.move_to_end(runtime_job_id)
            return self._jobs[runtime_job_id]
        service = self.service()
        job = self.call(f"reading job {runtime_job_id}", service.job, runtime_job_id)
        self._jobs[runtime_job_id] = job
        while len(self._jobs) > JOB_CACHE_SIZE:
            self._jobs.popitem(last=False)
        return job

    def drop_job(self, runtime_job_id: str) -> None:
        self._jobs.pop(runtime_job_id, None)

    def remember_job(self, job: Any) -> None:
        self._jobs[job.job_id()] = job

    def find_tagged(self, tag: str) -> str | None:
        """The id of the newest upstream job carrying `tag`, if any."""
        service = self.service()
        found = self.call("looking for a job by tag", service.jobs, limit=1, job_tags=[tag])
        return found[0].job_id() if found else None


@contextlib.contextmanager
def _counted(operation: str) -> Iterator[None]:
    """A call to IBM Quantum, counted and timed by its outcome."""
    started, outcome = time.monotonic(), "error"  # not IBM's failure: a bug, an interrupt
    try:
        yield
        outcome = "ok"
    except UpstreamError as err:
        outcome = err.kind.value
        raise
    finally:
        metrics.ibm_called(operation, outcome, time.monotonic() - started)
