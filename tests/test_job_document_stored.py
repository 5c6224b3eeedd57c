"""The job document a read answers without the schema (`JobStore.document`: the part kept
beside the record at its creation, and the record's live fields): after every kind of write of
the record, it equals what the schema makes of the record (`job_document`)."""

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


def same(store: JobStore, job_id: str) -> dict[str, Any]:
    """The document as a read answers it, checked against the schema's of the record."""
    found = store.document("docs", job_id)
    assert found is not None
    kept = json.loads(found)
    assert kept == job_document(decode_record(store.redis.hgetall(store.key(job_id))))
    return kept


def test_after_every_kind_of_write_a_read_answers_the_schemas_document(store: JobStore) -> None:
    job = new_job(store, callback_url="https://example.com/hook", callback_events=",job.done,")
    assert same(store, job["id"])["status"] == "QUEUED"
    store.transition(job["id"], "docs", JobStatus.RUNNING)
    assert same(store, job["id"])["final"] is False
    store.annotate(job["id"], {"runtime_job_id": "ibm-123", "instance": "hub/group/project"})
    store.annotate(job["id"], {"properties_ref": "abc", "rq_attempt": 2})  # not in the document
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
