"""/v1/jobs: submit, list, read, and every RuntimeJob operation on one job."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request
from flask.views import MethodView

from app import service
from app.api import GatewayBlueprint, problems
from app.auth import auth_required
from app.schemas import (
    JobListArgsSchema,
    JobListSchema,
    JobSchema,
    JobStatusSchema,
    JobSubmitSchema,
    ResultArgsSchema,
    ResultSchema,
)
from app.service import gateway
from workers.states import JobStatus

jobs = GatewayBlueprint("jobs", __name__, url_prefix="/v1/jobs", description="Quantum jobs")


@jobs.route("")
class Jobs(MethodView):
    @auth_required
    @jobs.arguments(JobSubmitSchema)
    @jobs.response(202, JobSchema, headers={"Location": {"schema": {"type": "string"}}})
    @jobs.alt_response(200, schema=JobSchema, description="Repeated Idempotency-Key: the same job")
    @problems(jobs, 400, 401, 409, 413, 415)
    def post(self, payload: dict[str, Any]) -> Any:
        """Submit a sampler or estimator job"""
        key = request.headers.get("Idempotency-Key")
        job, created = service.submit(gateway(), g.tenant, payload, key)
        return job, 202 if created else 200, {"Location": f"/v1/jobs/{job['id']}"}

    @auth_required
    @jobs.arguments(JobListArgsSchema, location="query", as_kwargs=True)
    @jobs.response(200, JobListSchema)
    @problems(jobs, 401)
    def get(self, limit: int, cursor: str | None = None, **filters: Any) -> Any:
        """List the tenant's jobs, newest first"""
        filters["created_after"] = service.micros(filters.get("created_after"))
        filters["created_before"] = service.micros(filters.get("created_before"))
        position = service.decode_cursor(cursor) if cursor else None
        found, after = gateway().store.list_jobs(g.tenant, filters, position, limit)
        return {"jobs": found, "next_cursor": service.encode_cursor(after)}


@jobs.route("/<job_id>")
class Job(MethodView):
    @auth_required
    @jobs.response(200, JobSchema)
    @problems(jobs, 401, 404)
    def get(self, job_id: str) -> Any:
        """Read a job"""
        return gateway().store.owned(g.tenant, job_id)


@jobs.get("/<job_id>/status")
@auth_required
@jobs.response(200, JobStatusSchema)
@problems(jobs, 401, 404)
def status(job_id: str) -> Any:
    """A job's status (status(), done(), in_final_state())"""
    job = gateway().store.owned(g.tenant, job_id)
    return {"id": job["id"], "status": job["status"], "final": JobStatus(job["status"]).final}


@jobs.get("/<job_id>/result")
@auth_required
@jobs.arguments(ResultArgsSchema, location="query", as_kwargs=True)
@jobs.response(200, ResultSchema)
@problems(jobs, 401, 404, 409)
def result(job_id: str, format: str, wait: float) -> Any:
    """A job's result; `wait` blocks up to that many seconds for it"""
    data = service.result(gateway(), g.tenant, job_id, wait, format == "runtime")
    return Response(data, 200, mimetype="application/json")
