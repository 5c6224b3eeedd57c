"""Errors of the IBM-compatible facade, in IBM Quantum's shape rather than problem+json.

The client (`qiskit_ibm_runtime/api/session.py`) reads `error.message` and `error.code` from a
refusal into its `RequestsApiError` (401 becomes `IBMNotAuthorizedError`, 404 on a job
`RuntimeJobNotFound`); IBM Cloud's own APIs answer `errors[]` with `trace`. Both are sent."""

from __future__ import annotations

import json

from flask import Response, g

PREFIX = "/ibm/"


def applies(path: str) -> bool:
    """Whether a request's errors are answered in IBM's shape (every route under /ibm)."""
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


def ibm_error(status: int, message: str) -> Response:
    trace = g.get("request_id") or ""
    error = {"code": status, "message": message, "more_info": ""}
    body = {"errors": [error], "error": {"code": status, "message": message},
            "trace": trace, "status_code": status}
    return Response(json.dumps(body, separators=(",", ":")), status,
                    mimetype="application/json")
