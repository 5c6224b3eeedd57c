"""Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, the API and the worker export spans by OTLP
over HTTP to a real receiver (here, in the test process, decoding the protobufs with
opentelemetry-proto), and a job's spans in the worker join the trace of the request that
created it, itself the child of the client's `traceparent`. Without it, nothing is stored."""

from __future__ import annotations

import gzip
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from core.store.connection import Connection
from core.store.jobs import JobStore
from tests.conftest import sampler_job, submit
from tests.private_gateway import PrivateGateway
from tests.waiting import eventually

KEYS = {"traced": "tracing-key-of-traced-0123456789"}
GHZ_3 = ('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; bit[3] c; h q[0]; cx q[0], q[1]; '
         "cx q[1], q[2]; c = measure q;")


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start: int
    end: int
    attributes: dict[str, str]

    @property
    def milliseconds(self) -> float:
        return (self.end - self.start) / 1e6


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP receiver: POST /v1/traces with an ExportTraceServiceRequest."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.spans: list[Span] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        found = []
        for resource in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                found += [Span(attributes.get("service.name", ""), span.name,
                               span.trace_id.hex(), span.span_id.hex(),
                               span.parent_span_id.hex(), span.start_time_unix_nano,
                               span.end_time_unix_nano,
                               {a.key: str(a.value.string_value or a.value.int_value)
                                for a in span.attributes})
                          for span in scope.spans]
        with self.lock:
            self.spans += found

    def trace(self, trace_id: str) -> list[Span]:
        with self.lock:
            return sorted((s for s in self.spans if s.trace_id == trace_id),
                          key=lambda span: span.start)


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        assert self.path == "/v1/traces", self.path
        self.server.take(body)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def gateway(env: dict[str, str], receiver: Receiver,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateGateway]:
    gw = PrivateGateway(env, tmp_path_factory.mktemp("tracing"), KEYS,
                        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
                        OTEL_BSP_SCHEDULE_DELAY="100")  # ms: export soon, not every 5 s
    yield gw
    gw.close()


def test_a_jobs_spans_join_the_trace_of_the_request_that_created_it(
        gateway: PrivateGateway, receiver: Receiver) -> None:
    trace_id, client_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{client_span}-01"
    with gateway.client("traced") as http:
        # the trace shown is that of a warm worker's, for a program it has not transpiled yet
        warm = submit(http, sampler_job(GHZ_3, backend="fake_manila"))
        http.get(f"/v1/jobs/{warm['id']}/result", params={"wait": 30}).raise_for_status()
        job = submit(http, sampler_job(backend="fake_manila"),
                     headers={"traceparent": traceparent})
        http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 30}).raise_for_status()
    names = {"POST /v1/jobs", "validate", "store", "job.run", "dispatch", "transpile",
             "simulate"}
    spans = eventually(lambda: (found := receiver.trace(trace_id)) and
                       names <= {s.name for s in found} and
                       sum(s.name == "store" for s in found) >= 3 and found, 20,
                       "the API's and the worker's spans")
    by_name = {span.name: span for span in spans}
    request, run = by_name["POST /v1/jobs"], by_name["job.run"]
    assert request.service == "quantum-gateway-api" and request.parent_id == client_span
    assert request.attributes["http.route"] == "/v1/jobs"
    assert run.service == "quantum-gateway-worker" and run.parent_id == request.span_id
    assert run.attributes["job.id"] == job["id"]
    for name in ("dispatch", "transpile", "simulate"):
        assert by_name[name].parent_id == run.span_id, name
    stores = [s for s in spans if s.name == "store" and s.parent_id == run.span_id]
    assert {s.attributes["job.status"] for s in stores} == {"RUNNING", "DONE"}
    print("\n" + "\n".join(f"{s.service:24} {s.name:16} {s.milliseconds:8.2f} ms"
                           for s in spans))  # the closing note's trace of one job


def test_an_invalid_traceparent_starts_a_trace_of_its_own(
        gateway: PrivateGateway, receiver: Receiver) -> None:
    with gateway.client("traced") as http:
        assert http.get("/v1/jobs", headers={"traceparent": "00-nonsense-01"}).status_code == 200
    assert eventually(lambda: any(s.name == "GET /v1/jobs" and s.parent_id == ""
                                  for s in receiver.spans), 10, "the request's own trace")


def test_without_an_endpoint_no_trace_context_is_stored(client: httpx.Client,
                                                        redis_url: str) -> None:
    """The session's gateway runs without OTEL_EXPORTER_OTLP_ENDPOINT: a client's traceparent
    costs nothing there (the record is written before the 202)."""
    job = submit(client, sampler_job(), headers={
        "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"})
    store = JobStore(Connection.open(redis_url))
    record = store.redis.hgetall(store.key(job["id"]))
    assert record["status"] and "traceparent" not in record
