"""The job document kept beside each record (its `doc` field): every write of the record keeps
it equal to what the schema makes of the record (`job_document`), and a read answers it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from core.documents import job_document
from core.errors import JobNotFound
from core.states import JobStatus
from core.store.connection import Connection
from core.store.jobs import JobStore
from core.store.records import decode_record


@pytest.fixture
def store(redis_url: str) -> JobStore:
    return JobStore(Connection.open(redis_url, "doc-test"))


def new_job(store: JobStore, **extra: Any) -> dict[str, Any]:
    record = {"id": f"d{time.time_ns()}", "tenant": "docs", "program_id": "sampler",
              "backend": "aer_simulator", "provider": "local", "status": JobStatus.QUEUED,
              "tags": ["a", "ü/\"x\""], "version": 2, "attempts": 0,
              "usage_estimation": {"quantum_seconds": 0.1234567890123456789}, **extra}
    return store.create(record, {"pubs": []})


def stored(store: JobStore, job_id: str) -> tuple[dict[str, Any], Any]:
    """(the schema's document of the record as stored, the stored document parsed)"""
    raw = store.redis.hgetall(store.key(job_id))
    return job_document(decode_record(raw)), json.loads(raw["doc"])


def same(store: JobStore, job_id: str) -> dict[str, Any]:
    expected, kept = stored(store, job_id)
    assert kept == expected
    assert list(kept) == list(expected)  # the schema's order of fields too
    return kept


def test_every_write_of_a_record_keeps_its_document(store: JobStore) -> None:
    job = new_job(store, callback_url="https://example.com/hook", callback_events=",job.done,")
    assert same(store, job["id"])["status"] == "QUEUED"
    store.transition(job["id"], "docs", JobStatus.RUNNING)
    assert same(store, job["id"])["final"] is False
    store.annotate(job["id"], {"runtime_job_id": "ibm-123", "instance": "hub/group/project"})
    assert same(store, job["id"])["runtime_job_id"] == "ibm-123"
    store.set_tags(job["id"], ["b"])
    assert same(store, job["id"])["tags"] == ["b"]
    store.transition(job["id"], "docs", JobStatus.ERROR,
                     fields={"error_message": "it broke: \"quotes\", ünïcode, \\ and \n",
                             "metrics": {"usage": {"quantum_seconds": 1.5}}})
    done = same(store, job["id"])
    assert done["final"] is True and done["callback_events"] == ["job.done"]
    assert done["usage_estimation"] == {"quantum_seconds": 0.1234567890123456789}


def test_defaults_and_absent_fields_as_the_schema_has_them(store: JobStore) -> None:
    job = new_job(store, usage_estimation=None, tags=[], session_id="s1")
    store.transition(job["id"], "docs", JobStatus.CANCELLED)
    kept = same(store, job["id"])
    assert "usage_estimation" not in kept and "callback_url" not in kept
    assert kept["tags"] == [] and kept["image"] == "" and kept["error_message"] is None


def test_the_document_is_read_for_its_tenant_only(store: JobStore) -> None:
    job = new_job(store)
    found = store.document("docs", job["id"])
    assert found is not None and json.loads(found)["id"] == job["id"]
    for tenant, job_id in (("others", job["id"]), ("docs", "missing"), ("docs", "../bad")):
        with pytest.raises(JobNotFound):
            store.document(tenant, job_id)
    store.redis.hdel(store.key(job["id"]), "doc")  # stored before documents were kept
    assert store.document("docs", job["id"]) is None
    assert "doc" not in store.owned("docs", job["id"])  # records never carry it
