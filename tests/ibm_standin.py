"""A local stand-in for IBM Quantum's API: just what qiskit-ibm-runtime 0.51 calls, on 127.0.0.1.

The tests start it in their own process and steer it: hold jobs queued, cancel them "from IBM's
side", answer bursts of 503s, refuse every call with 401, drop the connection after creating a
job. Jobs run for real: the executor programs the client sends are decoded and run on Aer with
the noise of the device the stand-in serves (`ibm_manila`, IBM's Manila data renamed), so the
counts that come back are real counts. Every request is recorded so tests can count them.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import re
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.ibm_standin_sessions import SessionRoutes, UpstreamSession

DEVICE = "ibm_manila"
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/standin:standin-instance::"
UPSTREAM_STATUSES = ("Queued", "Running", "Completed", "Failed", "Cancelled")
FINAL = ("Completed", "Failed", "Cancelled")
STEP_SECONDS = 0.4  # a job moves at most one step (Queued, Running, Completed) per this time


def _iso(moment: float | None = None) -> str:
    return datetime.fromtimestamp(moment or time.time(), UTC).isoformat().replace(
        "+00:00", "Z")


def _jwt(lifetime: int = 3600) -> str:
    """An unsigned JWT with the `iat` and `exp` the IAM token manager reads."""
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    now = int(time.time())
    return f"{part({'alg': 'none'})}.{part({'iat': now, 'exp': now + lifetime})}.c2ln"


@dataclass
class Call:
    method: str
    path: str
    status: int
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    """Answer `status` to the next `count` requests matching `method` and `path` (a regex);
    status 0 means: do the work, then drop the connection without answering."""

    method: str
    path: str
    status: int
    count: int
    retry_after: int | None = None


@dataclass
class UpstreamJob:
    id: str
    backend: str
    program_id: str
    params: dict[str, Any]
    tags: list[str]
    private: bool
    created: float = field(default_factory=time.time)
    status: str = "Queued"
    held: bool = False
    reason: str | None = None
    running: float | None = None
    finished: float | None = None
    result: str | None = None
    result_reads: int = 0
    session_id: str | None = None
    stepped: float = field(default_factory=time.monotonic)

    def view(self) -> dict[str, Any]:
        state: dict[str, Any] = {"status": self.status}
        if self.reason:
            state["reason"] = self.reason
        return {
            "id": self.id, "backend": self.backend, "status": self.status, "state": state,
            "program": {"id": self.program_id}, "created": _iso(self.created),
            "tags": list(self.tags), "session_id": self.session_id, "runtime": "",
            "private": self.private, "cost": 600, "user_id": "standin-user",
        }


class Standin:
    """The stand-in's state and controls; `serve()` starts it on a free port."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.jobs: dict[str, UpstreamJob] = {}
        self.sessions: dict[str, UpstreamSession] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.delays: list[Fault] = []  # `status` unused: the next `count` matches wait
        self.delay_seconds = 0.0
        self.hold_new_jobs = False
        self.refuse_all = False  # every API call answers 401 (a revoked key)
        self.creation_limit: tuple[int, float] | None = None  # (jobs, per seconds), else 429
        self._created_at: list[float] = []
        self.lock = threading.RLock()
        self.seen_tokens: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._access_tokens: set[str] = set()
        # programs run one at a time in a process of their own: qiskit's QPY loader has crashed
        # the test process when called from one of the server's threads
        self._simulator = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))

    # -- lifecycle ---------------------------------------------------------------------------
    def serve(self) -> Standin:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="ibm-standin").start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._simulator.shutdown(cancel_futures=True)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def api_url(self) -> str:
        """What QISKIT_IBM_URL is set to: the word `experimental` keeps the library from
        rewriting it into `https://quantum.<host>/api/v1` for the instance's region."""
        return f"http://experimental@127.0.0.1:{self.port}/api/v1"

    @property
    def iam_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- controls for the tests -----------------------------------------------------------------
    def fail(self, method: str, path: str, status: int, count: int = 1,
             retry_after: int | None = None) -> None:
        with self.lock:
            self.faults.append(Fault(method, path, status, count, retry_after))

    def delay(self, method: str, path: str, seconds: float, count: int = 1) -> None:
        """The next `count` requests matching `method` and `path` (a regex) are answered only
        after `seconds` (a slow upstream)."""
        with self.lock:
            self.delays.append(Fault(method, path, 0, count, None))
            self.delay_seconds = seconds

    def take_delay(self, method: str, path: str) -> float:
        with self.lock:
            for slow in self.delays:
                if slow.count > 0 and slow.method == method and re.search(slow.path, path):
                    slow.count -= 1
                    return self.delay_seconds
        return 0.0

    def job_tagged(self, tag: str) -> list[UpstreamJob]:
        with self.lock:
            return [job for job in self.jobs.values() if tag in job.tags]

    def release(self, job_id: str) -> None:
        with self.lock:
            self.jobs[job_id].held = False

    def cancel(self, job_id: str) -> None:
        """Cancel a job as IBM's own console would, behind the gateway's back."""
        with self.lock:
            job = self.jobs[job_id]
            if job.status not in FINAL:
                job.status, job.finished = "Cancelled", time.time()

    def calls_since(self, mark: int) -> list[Call]:
        with self.lock:
            return list(self.calls[mark:])

    def mark(self) -> int:
        with self.lock:
            return len(self.calls)

    # -- what the handler calls --------------------------------------------------------------
    def issue_access_token(self, api_key: str) -> str | None:
        self.seen_tokens.add(api_key)
        if api_key != self.token:
            return None
        token = _jwt()
        self._access_tokens.add(token)
        return token

    def authorised(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if self.refuse_all:
            return False
        if scheme == "Bearer":
            return value in self._access_tokens
        return scheme == "apikey" and value == self.token

    def over_creation_limit(self) -> bool:
        """IBM refuses job creations beyond a few per minute; so does the stand-in, if told to."""
        if self.creation_limit is None:
            return False
        count, seconds = self.creation_limit
        with self.lock:
            now = time.monotonic()
            self._created_at = [at for at in self._created_at if now - at < seconds]
            if len(self._created_at) >= count:
                return True
            self._created_at.append(now)
            return False

    def could_create(self) -> bool:
        """Whether a job creation now would be accepted (counting none)."""
        if self.creation_limit is None:
            return True
        count, seconds = self.creation_limit
        with self.lock:
            now = time.monotonic()
            return sum(1 for at in self._created_at if now - at < seconds) < count

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.method == method and re.search(fault.path, path):
                    fault.count -= 1
                    return fault
        return None

    def advance(self, job: UpstreamJob) -> None:
        """A look at a job that is not held moves it one step: Queued, Running, Completed (at
        most one step per STEP_SECONDS, so that a client looking twice in a row sees each)."""
        with self.lock:
            if job.held or job.status in FINAL or time.monotonic() - job.stepped < STEP_SECONDS:
                return
            job.stepped = time.monotonic()
            if job.status == "Queued":
                job.status, job.running = "Running", time.time()
                return
            if job.result is not None:
                return  # another request is finishing it
            job.result = ""
        result = self._simulator.submit(run_program, job.program_id, job.params).result()
        with self.lock:
            job.result = result
            if job.status == "Running":
                job.status, job.finished = "Completed", time.time()


class _Handler(SessionRoutes, BaseHTTPRequestHandler):
    owner: Standin
    protocol_version = "HTTP/1.1"
    mute = False  # set to do the work of a request but never answer it

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    # -- plumbing ----------------------------------------------------------------------------
    def _dispatch(self, method: str) -> None:
        parsed = urlparse(self.path)
        path, query = parsed.path, parse_qs(parsed.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        standin = self.owner
        time.sleep(standin.take_delay(method, path))
        fault = standin.take_fault(method, path)
        status = fault.status if fault else 0
        if fault and fault.status == 0:
            self.mute = True
            self._route(method, path, query, body)  # the work happens; the answer is lost
            self._record(method, path, 0)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault:  # echoing the key (IBM does not) proves the gateway keeps it out of its logs
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            message = f"stand-in fault for API key {standin.token}"
            self._answer(status, {"errors": [{"code": status, "message": message}]},
                         headers=headers)
        elif not path.startswith("/identity/") and not standin.authorised(
                self.headers.get("Authorization", "")):
            status = 401
            message = f"Unauthorized: API key {standin.token} is not valid"
            self._answer(401, {"errors": [{"code": 401, "message": message}]})
        else:
            status = self._route(method, path, query, body)
        self._record(method, path, status)

    def _record(self, method: str, path: str, status: int) -> None:
        with self.owner.lock:
            self.owner.calls.append(Call(method, path, status))

    def _answer(self, status: int, payload: Any, text: bool = False,
                headers: dict[str, str] | None = None) -> int:
        data = payload.encode() if text else json.dumps(payload).encode()
        if self.mute:
            return status
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if text else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> int:
        for verb, pattern, handler in ROUTES:
            found = re.fullmatch(pattern, path)
            if verb == method and found:
                return handler(self, *found.groups(), query=query, body=body)
        return self._answer(404, {"errors": [{"code": 404, "message": f"no route {path}"}]})

    def _job(self, job_id: str) -> UpstreamJob | None:
        with self.owner.lock:
            return self.owner.jobs.get(job_id)

    # -- IAM ---------------------------------------------------------------------------------
    def iam_token(self, query: Any, body: bytes) -> int:
        form = parse_qs(body.decode())
        token = self.owner.issue_access_token((form.get("apikey") or [""])[0])
        if token is None:  # IAM's own answer; it never echoes the key
            return self._answer(400, {"errorCode": "BXNIM0415E",
                                      "errorMessage": "Provided API key could not be found."})
        now = int(time.time())
        return self._answer(200, {"access_token": token, "refresh_token": "not-supported",
                                  "token_type": "Bearer", "expires_in": 3600,
                                  "expiration": now + 3600})

    # -- backends ----------------------------------------------------------------------------
    def backends(self, query: Any, body: bytes) -> int:
        return self._answer(200, {"devices": [{"name": DEVICE, "class": "real",
                                               "status": {"name": "online"}}]})

    def backend_document(self, name: str, kind: str, query: Any, body: bytes) -> int:
        if name != DEVICE:
            return self._answer(404, {"errors": [{"code": 404, "message": "no such backend"}]})
        if kind == "status":
            return self._answer(200, {"backend_version": "1.3.0", "state": True,
                                      "status": "active", "message": "available",
                                      "length_queue": self._pending()})
        return self._answer(200, device_document(kind))

    def _pending(self) -> int:
        with self.owner.lock:
            return sum(job.status == "Queued" for job in self.owner.jobs.values())

    def usage(self, query: Any, body: bytes) -> int:
        return self._answer(200, {"instance_id": CRN, "plan_id": "standin",
                                  "usage_consumed_seconds": 0, "usage_limit_reached": False,
                                  "usage_remaining_seconds": 600})

    # -- jobs --------------------------------------------------------------------------------
    def create_job(self, query: Any, body: bytes) -> int:
        if self.owner.over_creation_limit():
            return self._answer(429, {"errors": [{"code": 429, "message": "Too many requests"}]})
        payload = json.loads(body)
        job = UpstreamJob(
            id=f"d{uuid.uuid4().hex[:19]}", backend=payload.get("backend", DEVICE),
            program_id=payload["program_id"], params=payload["params"],
            tags=list(payload.get("tags") or []), private=bool(payload.get("private")),
            held=self.owner.hold_new_jobs, session_id=payload.get("session_id"),
        )
        with self.owner.lock:
            self.owner.jobs[job.id] = job
            upstream_session = self.owner.sessions.get(job.session_id or "")
            if upstream_session is not None and upstream_session.state != "closed":
                upstream_session.state = "active"
                upstream_session.activated_at = upstream_session.activated_at or time.time()
        return self._answer(200, {"id": job.id, "backend": job.backend, "private": job.private})

    def list_jobs(self, query: dict[str, list[str]], body: bytes) -> int:
        tags = query.get("tags", [])
        with self.owner.lock:
            found = [job.view() for job in sorted(self.owner.jobs.values(),
                                                  key=lambda j: j.created, reverse=True)
                     if all(tag in job.tags for tag in tags)]
        limit = int((query.get("limit") or ["10"])[0])
        return self._answer(200, {"jobs": found[:limit], "count": len(found), "limit": limit,
                                  "offset": 0})

    def get_job(self, job_id: str, query: Any, body: bytes) -> int:
        job = self._job(job_id)
        if job is None:
            return self._missing(job_id)
        self.owner.advance(job)
        return self._answer(200, job.view())

    def job_results(self, job_id: str, query: Any, body: bytes) -> int:
        job = self._job(job_id)
        if job is None:
            return self._missing(job_id)
        if job.status == "Failed":
            return self._answer(200, job.reason or "the job failed", text=True)
        if not job.result or (job.private and job.result_reads > 0):
            return self._missing(job_id)  # a private job's result is gone once read
        job.result_reads += 1
        return self._answer(200, job.result, text=True)

    def cancel_job(self, job_id: str, query: Any, body: bytes) -> int:
        job = self._job(job_id)
        if job is None:
            return self._missing(job_id)
        if job.status in FINAL:
            return self._answer(409, {"errors": [{"code": 1212, "message": "job is final"}]})
        self.owner.cancel(job_id)
        return self._answer(204, "", text=True)

    def job_logs(self, job_id: str, query: Any, body: bytes) -> int:
        job = self._job(job_id)
        if job is None:
            return self._missing(job_id)
        return self._answer(200, f"{_iso(job.created)} job {job_id} {job.status.lower()} on "
                                 f"{job.backend}\n", text=True)

    def job_metrics(self, job_id: str, query: Any, body: bytes) -> int:
        job = self._job(job_id)
        if job is None:
            return self._missing(job_id)
        done = job.status in FINAL
        seconds = round((job.finished or time.time()) - (job.running or job.created), 3)
        return self._answer(200, {
            "timestamps": {"created": _iso(job.created),
                           "running": _iso(job.running) if job.running else None,
                           "finished": _iso(job.finished) if job.finished else None},
            "bss": {"seconds": 1 if done else 0},
            "usage": {"quantum_seconds": 1 if done else 0, "seconds": seconds},
            "qiskit_version": "standin", "position_in_queue": 1 if job.status == "Queued" else None,
            "estimated_start_time": None, "estimated_completion_time": None,
        })

    def job_tags(self, job_id: str, query: Any, body: bytes) -> int:
        job = self._job(job_id)
        if job is None:
            return self._missing(job_id)
        with self.owner.lock:
            job.tags = list(json.loads(body)["tags"])
        return self._answer(204, "", text=True)

    def _missing(self, job_id: str) -> int:
        message = f"Job not found: {job_id}"
        return self._answer(404, {"errors": [{"code": 1291, "message": message}]})


Route = tuple[str, str, Callable[..., int]]
ROUTES: list[Route] = [
    ("POST", r"/identity/token", _Handler.iam_token),
    ("GET", r"/api/v1/backends", _Handler.backends),
    ("GET", r"/api/v1/backends/([^/]+)/(configuration|properties|status)",
     _Handler.backend_document),
    ("GET", r"/api/v1/instances/usage", _Handler.usage),
    ("POST", r"/api/v1/jobs", _Handler.create_job),
    ("GET", r"/api/v1/jobs", _Handler.list_jobs),
    ("GET", r"/api/v1/jobs/([^/]+)", _Handler.get_job),
    ("GET", r"/api/v1/jobs/([^/]+)/results", _Handler.job_results),
    ("POST", r"/api/v1/jobs/([^/]+)/cancel", _Handler.cancel_job),
    ("GET", r"/api/v1/jobs/([^/]+)/logs", _Handler.job_logs),
    ("GET", r"/api/v1/jobs/([^/]+)/metrics", _Handler.job_metrics),
    ("PUT", r"/api/v1/jobs/([^/]+)/tags", _Handler.job_tags),
    ("POST", r"/api/v1/sessions", _Handler.create_session),
    ("GET", r"/api/v1/sessions/([^/]+)", _Handler.get_session),
    ("PATCH", r"/api/v1/sessions/([^/]+)", _Handler.close_session),
    ("DELETE", r"/api/v1/sessions/([^/]+)/close", _Handler.cancel_session),
]


def device_document(kind: str) -> dict[str, Any]:
    """IBM's Manila configuration or properties, as shipped with qiskit-ibm-runtime, renamed."""
    import qiskit_ibm_runtime.fake_provider.backends.manila as manila

    short = "conf" if kind == "configuration" else "props"
    document = json.loads((Path(manila.__file__).parent / f"{short}_manila.json").read_text())
    document["backend_name"] = DEVICE
    return document


def run_program(program_id: str, params: dict[str, Any]) -> str:
    """Run an executor program on Aer with the device's noise; its result as IBM returns it."""
    from ibm_quantum_schemas.common.tensor import CompressedTensorModel
    from ibm_quantum_schemas.executor.version_2_0 import (
        ItemMetadataModel,
        MetadataModel,
        QuantumProgramResultItemModel,
        QuantumProgramResultModel,
    )
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2
    from qiskit_ibm_runtime.fake_provider.executor.run_quantum_program import run_quantum_program
    from qiskit_ibm_runtime.options_models import SimulatorOptions
    from qiskit_ibm_runtime.quantum_program.converters.converters_2_0 import (
        passthrough_data_to_2_0,
    )
    from qiskit_ibm_runtime.quantum_program.params_converters import (
        QUANTUM_PROGRAM_PARAMS_CONVERTERS,
    )

    if program_id != "executor":
        raise ValueError(f"the stand-in runs executor programs, not {program_id!r}")
    converter = QUANTUM_PROGRAM_PARAMS_CONVERTERS[params["schema_version"]]
    model = converter.model.model_validate(params)
    program, _options = converter.decoder(model)
    for item in program.items:
        if hasattr(item, "samplex"):
            item.samplex.finalize()  # IBM's side does this before sampling
    result = run_quantum_program(AerSimulator.from_backend(FakeManilaV2()), program,
                                 SimulatorOptions())
    items = [QuantumProgramResultItemModel(
        results={name: CompressedTensorModel.from_numpy(value) for name, value in item.items()},
        metadata=ItemMetadataModel()) for item in result]
    return QuantumProgramResultModel(
        data=items, metadata=MetadataModel(chunk_timing=[]),
        passthrough_data=passthrough_data_to_2_0(result.passthrough_data),
        semantic_role=model.quantum_program.semantic_role,
    ).model_dump_json()
