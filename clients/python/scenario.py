"""A short session with the gateway, in Python, through a client generated from openapi.yaml by
openapi-python-client (as package `gateway_client`), with httpx-sse for the event stream:
submit a job, follow its events, read its result with every shot, list jobs, cancel one.

Run by tests/test_clients.py against a live gateway (GATEWAY_URL, GATEWAY_KEY in the
environment, the generated package on PYTHONPATH); prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import uuid

from gateway_client import AuthenticatedClient  # type: ignore[import-not-found]
from gateway_client.api.jobs import (  # type: ignore[import-not-found]
    cancel_job,
    get_job_result,
    list_jobs,
    submit_job,
)
from gateway_client.models import (  # type: ignore[import-not-found]
    GetJobResultIncludeItem,
    Job,
    JobSubmit,
    Problem,
    Result,
    SamplerPubData,
    StatusEventData,
)
from httpx_sse import connect_sse

BELL = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; '
        "c = measure q;")
FINAL = {"DONE", "ERROR", "CANCELLED"}


def follow(client: AuthenticatedClient, job_id: str) -> tuple[list[str], list[str]]:
    """Every event of a job until its final status."""
    statuses, kinds = [], []
    with connect_sse(client.get_httpx_client(), "GET", f"/v1/jobs/{job_id}/events") as source:
        for event in source.iter_sse():
            kinds.append(event.event)
            if event.event == "status":
                statuses.append(StatusEventData.from_dict(event.json()).status.value)
                if statuses[-1] in FINAL:
                    break
    return statuses, kinds


def main() -> None:
    client = AuthenticatedClient(base_url=os.environ["GATEWAY_URL"],
                                 token=os.environ["GATEWAY_KEY"], raise_on_unexpected_status=True)
    body = JobSubmit.from_dict({
        "program_id": "sampler", "backend": "aer_simulator", "options": {"seed": 7},
        "pubs": [{"circuit": BELL, "shots": 100}], "tags": ["py-scenario"]})
    key = str(uuid.uuid4())
    job = submit_job.sync(client=client, body=body, idempotency_key=key)
    assert isinstance(job, Job), job
    again = submit_job.sync_detailed(client=client, body=body, idempotency_key=key)
    assert again.status_code == 200 and isinstance(again.parsed, Job) and again.parsed.id == job.id

    statuses, kinds = follow(client, job.id)
    assert statuses[-1] == "DONE", statuses

    result = get_job_result.sync(job.id, client=client, wait=30,
                                 include=[GetJobResultIncludeItem.SAMPLES])
    assert isinstance(result, Result), result
    data = result.pub_results[0].data
    assert isinstance(data, SamplerPubData), data  # a sampler's: its registers by name
    register = data["c"]
    assert register.shape == [] and register.num_shots == 100
    [counts] = register.counts  # one parameter set
    [samples] = register.samples
    assert len(samples) == 100

    listed = list_jobs.sync(client=client, tags=["py-scenario"], limit=5)
    assert listed is not None and not isinstance(listed, Problem)
    assert job.id in [found.id for found in listed.jobs]

    slow = submit_job.sync(client=client, body=JobSubmit.from_dict({
        **body.to_dict(), "pubs": [{"circuit": slow_circuit(), "shots": 10}]}))
    assert isinstance(slow, Job)
    cancelled = cancel_job.sync(slow.id, client=client)
    assert isinstance(cancelled, Job) and cancelled.status.value == "CANCELLED"
    refused = cancel_job.sync(job.id, client=client)
    assert isinstance(refused, Problem) and refused.job_status is not None
    assert refused.job_status.value == "DONE"

    print(json.dumps({
        "job_id": job.id, "statuses": statuses, "kinds": kinds, "counts": counts.to_dict(),
        "samples": len(samples), "listed": len(listed.jobs),
        "cancelled": cancelled.status.value, "refused": refused.type_}))


def slow_circuit(qubits: int = 20, layers: int = 30) -> str:
    """A circuit the simulator needs a few seconds for: still running when the cancel comes."""
    lines = ['OPENQASM 3.0; include "stdgates.inc";', f"qubit[{qubits}] q; bit[{qubits}] c;"]
    for layer in range(layers):
        lines += [f"rx({0.1 + 0.01 * i + 0.001 * layer:.4f}) q[{i}];" for i in range(qubits)]
        lines += [f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    return "\n".join([*lines, "c = measure q;"])


if __name__ == "__main__":
    main()
