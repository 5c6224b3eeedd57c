"""/ibm routes: the views, thin, over `service.py` and `backends.py`."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, json, request
from marshmallow import EXCLUDE

from app.api import GatewayBlueprint
from app.facade import backends, service, sessions, tokens
from app.facade.schemas import (
    CLOSE_REQUEST,
    FREE_FORM,
    JOB_REQUEST,
    SESSION_REQUEST,
    TAGS_REQUEST,
    TOKEN,
    TOKEN_REQUEST,
    BackendListArgsSchema,
    DocumentArgsSchema,
    JobListArgsSchema,
)
from app.gateway import gateway
from app.json_guard import load_json

ibm = GatewayBlueprint("IBM-compatible facade", __name__, url_prefix="/ibm",
                       description="The part of IBM Quantum Platform's REST API that "
                       "qiskit-ibm-runtime calls: point QiskitRuntimeService at "
                       "/ibm/api/v1 and IAM_URL at /ibm. Errors are IBM's shape, not "
                       "problem+json.")
API = "/api/v1"
IBM_ERROR_RESPONSE = {"$ref": "#/components/responses/IbmError"}
AUTH: list[dict[str, list[str]]] = [{"ibmBearer": []}]


def document(operation_id: str, ok: int, schema: dict[str, Any] | None,
             body: dict[str, Any] | None = None, content_type: str = "application/json",
             secured: bool = True, errors: tuple[int, ...] = ()) -> Callable[[Any], Any]:
    """The operation's spec: one success answer, IBM's error shape for every other (401 and
    429 on every authenticated one, and the `errors` listed)."""
    statuses = (*errors, 401, 429) if secured else errors
    responses: dict[Any, Any] = {str(status): IBM_ERROR_RESPONSE for status in statuses}
    responses["default"] = IBM_ERROR_RESPONSE
    responses[ok] = {"description": "OK" if ok != 204 else "Done"}
    if schema is not None:
        responses[ok]["content"] = {content_type: {"schema": schema}}
    spec: dict[str, Any] = {"operationId": operation_id, "responses": responses,
                            "security": AUTH if secured else []}
    if body is not None:
        spec["requestBody"] = body
    return ibm.doc(**spec)


def authorized(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tokens.authenticate()
        return view(*args, **kwargs)

    return wrapper


def answer(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status, mimetype="application/json")


def body() -> Any:
    return load_json(request.get_data(cache=True) or b"{}",
                     current_app.extensions["gateway"].config.MAX_JSON_DEPTH)


@ibm.post("/identity/token")
@document("ibmIamToken", 200, TOKEN, TOKEN_REQUEST, secured=False, errors=(400, 401))
def iam_token() -> Any:
    """IAM token exchange: a gateway key (as `apikey`) for a short-lived bearer token"""
    return answer(tokens.exchange(request.form.get("apikey", "")))


@ibm.get(f"{API}/backends")
@authorized
@ibm.arguments(BackendListArgsSchema, location="query", as_kwargs=True,
               unknown=EXCLUDE)
@document("ibmListBackends", 200, FREE_FORM, errors=(422,))
def list_backends(**_: Any) -> Any:
    """List the backends (`devices`)"""
    return answer(backends.devices(gateway()))


@ibm.get(f"{API}/backends/<name>/configuration")
@authorized
@ibm.arguments(DocumentArgsSchema, location="query", as_kwargs=True,
               unknown=EXCLUDE)
@document("ibmBackendConfiguration", 200, FREE_FORM, errors=(404,))
def backend_configuration(name: str, **_: Any) -> Any:
    """A backend's configuration (IBM's BackendConfiguration)"""
    return answer(backends.configuration(gateway(), name))


@ibm.get(f"{API}/backends/<name>/properties")
@authorized
@ibm.arguments(DocumentArgsSchema, location="query", as_kwargs=True,
               unknown=EXCLUDE)
@document("ibmBackendProperties", 200, FREE_FORM, errors=(404,))
def backend_properties(name: str, **_: Any) -> Any:
    """A backend's properties (calibration data; `{}` for the ideal simulator)"""
    return answer(backends.properties(gateway(), name))


@ibm.get(f"{API}/backends/<name>/status")
@authorized
@document("ibmBackendStatus", 200, FREE_FORM, errors=(404,))
def backend_status(name: str) -> Any:
    """A backend's status"""
    return answer(backends.status(gateway(), name))


@ibm.get(f"{API}/instances/usage")
@authorized
@document("ibmInstanceUsage", 200, FREE_FORM)
def usage() -> Any:
    """The instance's usage (the gateway meters by quotas, not by seconds)"""
    return answer({"instance_id": g.tenant, "plan_id": "gateway", "usage_consumed_seconds": 0,
                   "usage_limit_reached": False, "usage_remaining_seconds": None})


@ibm.post(f"{API}/jobs")
@authorized
@document("ibmCreateJob", 200, FREE_FORM, JOB_REQUEST, errors=(400, 413, 415, 422))
def create_job() -> Any:
    """Run a sampler, estimator or executor program as a gateway job"""
    return answer(service.create(gateway(), g.tenant, request.get_data(cache=False)))


@ibm.get(f"{API}/jobs")
@authorized
@ibm.arguments(JobListArgsSchema, location="query", as_kwargs=True,
               unknown=EXCLUDE)
@document("ibmListJobs", 200, FREE_FORM, errors=(422,))
def list_jobs(**args: Any) -> Any:
    """List the tenant's jobs, newest first (IBM's `limit`/`offset` paging)"""
    return answer(service.listing(gateway(), g.tenant, args))


@ibm.get(f"{API}/jobs/<job_id>")
@authorized
@ibm.arguments(DocumentArgsSchema, location="query", as_kwargs=True,
               unknown=EXCLUDE)
@document("ibmGetJob", 200, FREE_FORM, errors=(404,))
def get_job(job_id: str, **_: Any) -> Any:
    """Read a job (IBM's job shape)"""
    return answer(service.get(gateway(), g.tenant, job_id))


@ibm.delete(f"{API}/jobs/<job_id>")
@authorized
@document("ibmDeleteJob", 204, None, errors=(404,))
def delete_job(job_id: str) -> Any:
    """Delete a job"""
    service.delete(gateway(), g.tenant, job_id)
    return Response(status=204)


@ibm.get(f"{API}/jobs/<job_id>/results")
@authorized
@document("ibmJobResults", 200, FREE_FORM, errors=(404, 409))
def job_results(job_id: str) -> Any:
    """A done job's result, in the encoding the client decodes"""
    return Response(service.result(gateway(), g.tenant, job_id), 200,
                    mimetype="application/json")


@ibm.post(f"{API}/jobs/<job_id>/cancel")
@authorized
@document("ibmCancelJob", 204, None, errors=(404, 409))
def cancel_job(job_id: str) -> Any:
    """Cancel a job"""
    service.cancel(gateway(), g.tenant, job_id)
    return Response(status=204)


@ibm.get(f"{API}/jobs/<job_id>/logs")
@authorized
@document("ibmJobLogs", 200, {"type": "string"}, content_type="text/plain",
          errors=(404,))
def job_logs(job_id: str) -> Any:
    """A job's log lines so far"""
    return Response(service.logs(gateway(), g.tenant, job_id), 200, mimetype="text/plain")


@ibm.get(f"{API}/jobs/<job_id>/metrics")
@authorized
@document("ibmJobMetrics", 200, FREE_FORM, errors=(404,))
def job_metrics(job_id: str) -> Any:
    """A job's timestamps and usage"""
    return answer(service.metrics(gateway(), g.tenant, job_id))


@ibm.put(f"{API}/jobs/<job_id>/tags")
@authorized
@document("ibmReplaceJobTags", 204, None, TAGS_REQUEST, errors=(404, 415, 422))
def job_tags(job_id: str) -> Any:
    """Replace a job's tags"""
    service.update_tags(gateway(), g.tenant, job_id, body())
    return Response(status=204)


@ibm.post(f"{API}/sessions")
@authorized
@document("ibmCreateSession", 200, FREE_FORM, SESSION_REQUEST, errors=(404, 415, 422))
def create_session() -> Any:
    """Open a session or batch (Session, Batch): a gateway session"""
    return answer(sessions.create(gateway(), g.tenant, body()))


@ibm.get(f"{API}/sessions/<session_id>")
@authorized
@document("ibmGetSession", 200, FREE_FORM, errors=(404,))
def get_session(session_id: str) -> Any:
    """A session's details (IBM's shape)"""
    return answer(sessions.get(gateway(), g.tenant, session_id))


@ibm.patch(f"{API}/sessions/<session_id>")
@authorized
@document("ibmCloseSession", 204, None, CLOSE_REQUEST, errors=(404, 415, 422))
def close_session(session_id: str) -> Any:
    """Close a session: no new jobs, its jobs finish (`{"accepting_jobs": false}`)"""
    sessions.close(gateway(), g.tenant, session_id, body())
    return Response(status=204)


@ibm.delete(f"{API}/sessions/<session_id>/close")
@authorized
@document("ibmCancelSession", 204, None, errors=(404,))
def cancel_session(session_id: str) -> Any:
    """Cancel a session: no new jobs, its queued and running jobs cancelled"""
    sessions.cancel(gateway(), g.tenant, session_id)
    return Response(status=204)
