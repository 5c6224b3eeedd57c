"""Logs: with GATEWAY_LOG_FORMAT=json every line of the API, the worker, gunicorn (its access
and error logs) and `make run`'s supervisor is one JSON object, with time, level, logger,
message and process, and request_id, tenant, job_id and trace_id where they apply. No secret
in either format: the API keys, the IBM Quantum token and webhook secrets in flight stay out."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import uuid
from collections.abc import Iterator
from unittest import mock

import pytest

from core.config import Config
from core.logs import JsonFormatter, Redactor, TextFormatter, about_job, job_fields
from core.tracing import Tracing
from tests.conftest import sampler_job, submit
from tests.ibm_standin import CRN, DEVICE, Standin
from tests.private_gateway import PrivateGateway
from tests.test_supervision import MakeRun
from tests.waiting import eventually

IBM_TOKEN = f"standin-key-{uuid.uuid4().hex}"
KEY = f"logs-key-{secrets.token_urlsafe(24)}"
WEBHOOK_SECRET = f"whsec_{secrets.token_urlsafe(24)}"
REQUIRED = {"time", "level", "logger", "message", "process"}


@pytest.fixture(scope="module")
def standin() -> Iterator[Standin]:
    server = Standin(IBM_TOKEN).serve()
    yield server
    server.close()


@pytest.fixture(scope="module")
def gateway(env: dict[str, str], standin: Standin,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateGateway]:
    gw = PrivateGateway(
        env, tmp_path_factory.mktemp("logs"), {"logged": KEY}, GATEWAY_LOG_FORMAT="json",
        GATEWAY_ACCESS_LOG="true", GATEWAY_LOG_LEVEL="DEBUG", QISKIT_IBM_TOKEN=IBM_TOKEN,
        QISKIT_IBM_INSTANCE=CRN, QISKIT_IBM_URL=standin.api_url, IAM_URL=standin.iam_url,
        QISKIT_FUNCTIONS_EXPERIMENTAL="1", GATEWAY_IBM_POLL_MIN_SECONDS="0.5",
        GATEWAY_IBM_POLL_MAX_SECONDS="1", GATEWAY_WEBHOOK_SECRET_KEY=secrets.token_hex(32),
        GATEWAY_WEBHOOK_ALLOW_NETWORKS="127.0.0.0/8", GATEWAY_WEBHOOK_ALLOW_HTTP="1")
    yield gw
    gw.close()


def json_lines(text: str) -> list[dict]:
    """Each line as the object it is (a line that is not one fails the test, naming it)."""
    found = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            raise AssertionError(f"not a JSON line: {line[:300]}") from None
        assert isinstance(entry, dict) and set(entry) >= REQUIRED, line[:300]
        found.append(entry)
    return found


def test_every_line_is_json_and_no_secret_is_in_any(gateway: PrivateGateway,
                                                    standin: Standin) -> None:
    with gateway.client("logged", **{"X-Request-ID": WEBHOOK_SECRET}) as http:
        endpoint = http.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                                   "events": ["job.done"]})
        endpoint.raise_for_status()  # its secret is in this answer only
        local = submit(http, sampler_job())
        device = submit(http, sampler_job(backend=DEVICE, shots=100))
        for job in (local, device):
            http.get(f"/v1/jobs/{job['id']}/result", params={"wait": 60}).raise_for_status()
        token = http.post(f"/v1/jobs/{local['id']}/events/token").json()["token"]
        http.get(f"/v1/jobs/{local['id']}/events", params={"token": token})
        http.get("/v1/jobs/unknown-job")
    assert standin.seen_tokens == {IBM_TOKEN}  # the token was in flight, to IBM's IAM
    api = eventually(lambda: (lines := json_lines(gateway.output("api"))) and any(
        line["logger"] == "gunicorn.access" and "/events" in line["message"] for line in lines)
        and lines, 10, "the stream's access line")
    worker = eventually(lambda: (lines := json_lines(gateway.output("worker"))) and any(
        line.get("job_id") == device["id"] for line in lines) and lines, 10, "the IBM steps")
    everything = gateway.output("api") + gateway.output("worker")
    for secret in (KEY, IBM_TOKEN, WEBHOOK_SECRET, token, endpoint.json()["secret"]):
        assert secret not in everything
    access = [line for line in api if line["logger"] == "gunicorn.access"]
    reads = [line for line in access if line["path"] == f"/v1/jobs/{local['id']}/result"]
    assert reads and reads[0]["status"] == 200 and reads[0]["tenant"] == "logged"
    assert reads[0]["request_id"] == "whsec_[redacted]"
    # a stream's environ is shed to what its access line reads: the line still has it all
    stream = [line for line in access if line["path"] == f"/v1/jobs/{local['id']}/events"]
    assert stream and stream[0]["tenant"] == "logged" and stream[0]["method"] == "GET"
    assert stream[0]["remote_addr"] == "127.0.0.1" and stream[0]["user_agent"].startswith("python-")
    assert all("token=" not in line["message"] for line in access)
    assert {"gunicorn.error", "gunicorn.access"} <= {line["logger"] for line in api}
    assert any(line["logger"].startswith("rq.") for line in worker)


def test_the_supervisor_and_its_children_log_json(env: dict[str, str]) -> None:
    run = MakeRun(env, 6, GATEWAY_WORKERS="1", GATEWAY_LOG_FORMAT="json",
                  GATEWAY_LOG_LEVEL="INFO")
    try:
        eventually(lambda: "gateway.worker" in run.output or "rq.worker" in run.output, 60,
                   "the worker's first lines")
        run.ctrl_c()
        run.process.wait(30)
        eventually(lambda: '"message": "stopped"' in run.output, 5, "the last line")
    finally:
        run.close()
    lines = json_lines(run.output)
    said = [line["message"] for line in lines if line["logger"] == "gateway.supervisor"]
    assert any(message.startswith("Quantum jobs gateway on") for message in said)
    assert said[-1] == "stopped"
    assert {"gunicorn.error", "rq.worker"} <= {line["logger"] for line in lines}


def test_a_line_within_a_span_and_a_job_names_both() -> None:
    """The fields that apply: a worker's job, the trace of the span the line is logged in."""
    from opentelemetry.sdk.trace import TracerProvider

    tracing = Tracing(TracerProvider().get_tracer("test"))
    formatter = JsonFormatter(Redactor(), [job_fields, tracing.log_fields])
    record = logging.LogRecord("gateway.worker", logging.INFO, __file__, 1, "running", (), None)
    with about_job("job-1"), tracing.span("job.run") as span:
        inside = json.loads(formatter.format(record))
    outside = json.loads(formatter.format(record))
    assert inside["job_id"] == "job-1"
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert "job_id" not in outside and "trace_id" not in outside


@pytest.mark.parametrize("kind", ["json", "text"])
def test_no_secret_in_either_format(kind: str) -> None:
    """Secrets as a library or a careless line might log them, in message, fields and
    tracebacks."""
    env_key, ibm_token = "env-key-" + secrets.token_hex(12), "ibm-" + secrets.token_hex(16)
    minted = "gw_0123abcd_" + secrets.token_urlsafe(32)
    stream_token = "st_" + secrets.token_urlsafe(32)
    settings = {"GATEWAY_API_KEYS": f"acme:{env_key}", "QISKIT_IBM_TOKEN": ibm_token,
                "GATEWAY_LOG_FORMAT": kind}
    with mock.patch.dict(os.environ, settings, clear=True):
        config = Config()
    formatter = JsonFormatter(Redactor.of(config)) if kind == "json" else TextFormatter(
        Redactor.of(config))
    records = [
        ("sending %s", ({"Authorization": f"Bearer {env_key}"},)),
        ("Authorization: bearer %s", (minted,)),
        ("POST /identity/token apikey=%s", (ibm_token,)),
        ("signing the delivery with %s", (WEBHOOK_SECRET,)),
        ("GET /v1/events?token=%s&x=1", (stream_token,)),
    ]
    out = []
    for message, args in records:
        record = logging.LogRecord("test", logging.WARNING, __file__, 1, message, args, None)
        out.append(formatter.format(record))
    try:
        raise RuntimeError(f"IBM refused {ibm_token} and {minted}")
    except RuntimeError:
        record = logging.LogRecord("test", logging.ERROR, __file__, 1, "failed", (),
                                   sys.exc_info())
        out.append(formatter.format(record))
    text = "\n".join(out)
    for secret in (env_key, minted, ibm_token, WEBHOOK_SECRET, stream_token):
        assert secret not in text
    assert text.count("[redacted]") >= 7
    if kind == "json":
        assert all(set(json.loads(line)) >= REQUIRED for line in out)
