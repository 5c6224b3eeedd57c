"""Sessions on an IBM device, against the stand-in (`ibm_standin.py`): the gateway session is one
with an IBM Quantum session, created at once as qiskit-ibm-runtime's `Session`/`Batch` do; its
jobs carry the upstream id, close and cancel reach IBM, and the state and TTLs are IBM's."""

from __future__ import annotations

import httpx

from tests import test_ibm as scenarios
from tests.ibm_standin import DEVICE, Standin
from tests.test_ibm import final, ibm_bell, runtime_id, submit

# the IBM scenarios' fixtures, shared: the stand-in, a deployment (API and workers) on it, a
# fresh tenant's client
standin, deployment, client = scenarios.standin, scenarios.deployment, scenarios.client


def open_session(http: httpx.Client, mode: str) -> dict:
    response = http.post("/v1/sessions", json={"backend": DEVICE, "mode": mode, "max_ttl": 900})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_dedicated_session_is_one_with_an_ibm_session(client: httpx.Client,
                                                        standin: Standin) -> None:
    before = set(standin.sessions)
    created = open_session(client, "dedicated")
    (upstream_id,) = set(standin.sessions) - before  # created at once, as the library does
    upstream = standin.sessions[upstream_id]
    assert (upstream.backend, upstream.mode, upstream.max_ttl) == (DEVICE, "dedicated", 900)
    job = submit(client, ibm_bell(session_id=created["id"]))
    sent = standin.jobs[runtime_id(client, job["id"])]
    assert sent.session_id == upstream_id  # the job went in the upstream session
    assert final(client, job["id"])["status"] == "DONE"
    read = client.get(f"/v1/sessions/{created['id']}").json()
    assert read["id"] == created["id"]  # one thing to the client: the gateway's id
    assert read["state"] == "active" and read["interactive_ttl"] == 45  # IBM's, read back
    assert read["jobs"]["DONE"] == 1
    mark = standin.mark()
    closed = client.post(f"/v1/sessions/{created['id']}/close")
    assert closed.status_code == 200 and closed.json()["accepting_jobs"] is False
    assert upstream.accepting_jobs is False and upstream.state == "closed"
    assert any(c.method == "PATCH" and upstream_id in c.path
               for c in standin.calls_since(mark))


def test_cancelling_a_batch_reaches_ibm(client: httpx.Client, standin: Standin) -> None:
    before = set(standin.sessions)
    created = open_session(client, "batch")
    (upstream_id,) = set(standin.sessions) - before
    assert standin.sessions[upstream_id].mode == "batch"
    mark = standin.mark()
    cancelled = client.post(f"/v1/sessions/{created['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "closed"
    assert any(c.method == "DELETE" and c.path.endswith(f"/sessions/{upstream_id}/close")
               for c in standin.calls_since(mark))
