"""/v1/jobs: submit, list, read, and every RuntimeJob operation on one job."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, request
from flask.views import MethodView
from webargs.flaskparser import abort, is_json_request
from werkzeug.routing import BaseConverter

from app.api import GatewayBlueprint, conditional, problems
from app.auth import auth_required, auth_required_for_job, callers_job, callers_job_json
from app.examples import IMPORT_EXAMPLES, SUBMIT_EXAMPLES, TAGS_EXAMPLES
from app.gateway import gateway
from app.schemas import (
    BackendPropertiesSchema,
    BackendSchema,
    IdempotencyKeySchema,
    InputsSchema,
    JobImportSchema,
    JobListArgsSchema,
    JobListSchema,
    JobSchema,
    JobStateSchema,
    JobSubmitSchema,
    MetricsSchema,
    QueueInfoSchema,
    ResultArgsSchema,
    TagsSchema,
    WaitArgsSchema,
)
from app.schemas_results import InterimResultsSchema, ResultSchema
from app.services import backends, samples
from app.services import jobs as service
from core.states import JobStatus
from core.store import listing

jobs = GatewayBlueprint("jobs", __name__, url_prefix="/v1/jobs", description="Quantum jobs")
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "the job's URL"}}
NEXT_LINK = {"Link": {"schema": {"type": "string"},
                      "description": '`<…>; rel="next"`: the next page, when there is one'}}


def screened(view: Callable[..., Any]) -> Callable[..., Any]:
    """A big submission is screened before this process decodes it (`service.screen`)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_json_request(request):
            refusal = service.screen(gateway(), request.get_data(cache=True))
            if refusal is not None:
                abort(422, messages={"json": refusal})
        return view(*args, **kwargs)

    return wrapper


@jobs.route("")
class Jobs(MethodView):
    @auth_required
    @screened
    @jobs.doc(operationId="submitJob")
    @jobs.arguments(JobSubmitSchema, examples=SUBMIT_EXAMPLES)
    @jobs.arguments(IdempotencyKeySchema, location="headers", as_kwargs=True)
    @jobs.response(202, JobSchema, headers=LOCATION)
    @jobs.alt_response(200, schema=JobSchema, headers=LOCATION,
                       description="Repeated Idempotency-Key and body: the same job")
    @problems(jobs, 400, 401, 404, 409, 413, 415)
    def post(self, payload: dict[str, Any], idempotency_key: str | None = None) -> Any:
        """Submit a sampler or estimator job"""
        job, created = service.submit(gateway(), g.tenant, payload, idempotency_key)
        return job, 202 if created else 200, {"Location": f"/v1/jobs/{job['id']}"}

    @auth_required
    @jobs.doc(operationId="listJobs")
    @jobs.arguments(JobListArgsSchema, location="query", as_kwargs=True)
    @jobs.response(200, JobListSchema, headers=NEXT_LINK)
    @problems(jobs, 401)
    def get(self, limit: int, cursor: str | None = None, **filters: Any) -> Any:
        """List the tenant's jobs, newest first"""
        filters["created_after"] = service.micros(filters.get("created_after"))
        filters["created_before"] = service.micros(filters.get("created_before"))
        position = service.decode_cursor(cursor) if cursor else None
        found, after = listing.list_jobs(gateway().store, g.tenant, filters, position, limit)
        next_cursor = service.encode_cursor(after)
        links = {"Link": f'<{next_page(next_cursor)}>; rel="next"'} if next_cursor else {}
        return {"jobs": found, "next_cursor": next_cursor}, 200, links


def next_page(cursor: str) -> str:
    """This request's URL (path and query), with `cursor` set to the next page's."""
    query = [(name, value) for name, value in request.args.items(multi=True) if name != "cursor"]
    return f"{request.path}?{urlencode([*query, ('cursor', cursor)])}"


@jobs.post("/import")
@auth_required
@jobs.doc(operationId="importJob")
@jobs.arguments(JobImportSchema, examples=IMPORT_EXAMPLES)
@jobs.response(201, JobSchema, headers=LOCATION)
@jobs.alt_response(200, schema=JobSchema, headers=LOCATION,
                   description="Imported before: the same job")
@problems(jobs, 401, 404, 415, 502)
def import_job(payload: dict[str, Any]) -> Any:
    """Follow a job submitted to IBM Quantum elsewhere (QiskitRuntimeService.job(job_id))"""
    job, created = service.import_job(gateway(), g.tenant, payload["runtime_job_id"])
    return job, 201 if created else 200, {"Location": f"/v1/jobs/{job['id']}"}


class JobIdConverter(BaseConverter):
    """A job id in a path: any segment but `import`, so that /v1/jobs/import is POST only."""

    regex = r"(?!import$)[^/]+"


@jobs.route("/<job_id:job_id>")
class Job(MethodView):
    @auth_required_for_job
    @jobs.doc(operationId="getJob")
    @conditional
    @jobs.response(200, JobSchema)
    @problems(jobs, 401, 404)
    def get(self, job_id: str) -> Any:
        """Read a job"""
        # the document as stored: the schema (documented above) ran when it was written
        return Response(callers_job_json(job_id), 200, mimetype="application/json")

    @auth_required
    @jobs.doc(operationId="deleteJob")
    @jobs.response(204)
    @problems(jobs, 401, 404)
    def delete(self, job_id: str) -> Any:
        """Delete a job, its result, events and logs (cancelling it first if needed)"""
        service.delete(gateway(), g.tenant, job_id)
        return "", 204


@jobs.post("/<job_id>/cancel")
@auth_required
@jobs.doc(operationId="cancelJob")
@jobs.response(200, JobSchema)
@problems(jobs, 401, 404, 409)
def cancel(job_id: str) -> Any:
    """Cancel a job (cancel()); a final job answers 409 invalid-state"""
    return service.cancel(gateway(), g.tenant, job_id)


@jobs.get("/<job_id>/wait")
@auth_required
@jobs.doc(operationId="waitForJob")
@jobs.arguments(WaitArgsSchema, location="query", as_kwargs=True)
@jobs.response(200, JobSchema)
@problems(jobs, 401, 404, 409)
def wait(job_id: str, timeout: float) -> Any:
    """Wait until the job is final (wait_for_final_state(timeout))"""
    return service.wait(gateway(), g.tenant, job_id, timeout)


@jobs.get("/<job_id>/logs")
@auth_required
@jobs.doc(operationId="getJobLogs")
@jobs.response(200, {"type": "string"}, content_type="text/plain",
               description="The job's log lines")
@problems(jobs, 401, 404, 409)
def logs(job_id: str) -> Any:
    """A final job's log (logs())"""
    return Response(service.logs(gateway(), g.tenant, job_id), 200, mimetype="text/plain")


@jobs.get("/<job_id>/metrics")
@auth_required
@jobs.doc(operationId="getJobMetrics")
@jobs.response(200, MetricsSchema)
@problems(jobs, 401, 404)
def metrics(job_id: str) -> Any:
    """Timestamps, usage and sizes of a job (metrics())"""
    return service.metrics(gateway(), g.tenant, job_id)


@jobs.get("/<job_id>/queue")
@auth_required
@jobs.doc(operationId="getJobQueueInfo")
@jobs.response(200, QueueInfoSchema)
@problems(jobs, 401, 404)
def queue_info(job_id: str) -> Any:
    """Position in the queue and estimated times (queue_info(), queue_position())"""
    return service.queue_info(gateway(), g.tenant, job_id)


@jobs.put("/<job_id>/tags")
@auth_required
@jobs.doc(operationId="replaceJobTags")
@jobs.arguments(TagsSchema, examples=TAGS_EXAMPLES)
@jobs.response(200, TagsSchema)
@problems(jobs, 400, 401, 404, 415)
def tags(payload: dict[str, Any], job_id: str) -> Any:
    """Replace a job's tags (update_tags())"""
    job = gateway().store.owned(g.tenant, job_id)
    service.update_tags(gateway(), job, payload["tags"])  # IBM's copy first, for an IBM job
    return {"tags": payload["tags"]}


@jobs.get("/<job_id>/interim-results")
@auth_required_for_job
@jobs.doc(operationId="getJobInterimResults")
@jobs.response(200, InterimResultsSchema)
@problems(jobs, 401, 404)
def interim_results(job_id: str) -> Any:
    """What the job has published so far, one entry per finished PUB (interim_results())"""
    callers_job(job_id)
    return {"interim_results": gateway().store.interim(job_id)}


@jobs.get("/<job_id>/inputs")
@auth_required_for_job
@jobs.doc(operationId="getJobInputs")
@jobs.response(200, InputsSchema)
@problems(jobs, 401, 404)
def inputs(job_id: str) -> Any:
    """The submitted program inputs (inputs)"""
    callers_job(job_id)
    return gateway().store.inputs(job_id)


@jobs.get("/<job_id>/backend")
@auth_required_for_job
@jobs.doc(operationId="getJobBackend")
@jobs.response(200, BackendSchema)
@problems(jobs, 401, 404)
def backend(job_id: str) -> Any:
    """The backend the job runs on (backend())"""
    return backends.backend_summary(gateway(), callers_job(job_id)["backend"])


@jobs.get("/<job_id>/properties")
@auth_required
@jobs.doc(operationId="getJobProperties")
@jobs.response(200, BackendPropertiesSchema)
@problems(jobs, 401, 404)
def properties(job_id: str) -> Any:
    """The backend properties the job ran against (properties())"""
    return service.job_properties(gateway(), g.tenant, job_id)


@jobs.get("/<job_id>/status")
@auth_required_for_job
@jobs.doc(operationId="getJobStatus")
@conditional
@jobs.response(200, JobStateSchema)
@problems(jobs, 401, 404)
def status(job_id: str) -> Any:
    """A job's status (status(), done(), in_final_state())"""
    job = callers_job(job_id)
    return {"id": job["id"], "status": job["status"], "final": JobStatus(job["status"]).final}


@jobs.get("/<job_id>/result")
@auth_required
@jobs.doc(operationId="getJobResult")
@jobs.arguments(ResultArgsSchema, location="query", as_kwargs=True)
@conditional
@jobs.response(200, ResultSchema)
@problems(jobs, 401, 404, 409, 422)
def result(job_id: str, format: str, wait: float, include: list[str] | None = None) -> Any:
    """A job's result; `wait` blocks up to that many seconds for it"""
    data = service.result(gateway(), g.tenant, job_id, wait, format == "runtime")
    if "samples" in (include or []) and format != "runtime":
        data = samples.with_samples(gateway(), job_id, data)
    return Response(data, 200, mimetype="application/json")
