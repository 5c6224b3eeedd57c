"""What the API process tells about each request: its count and time by route template and
status (Prometheus, `core/metrics.py`), its server span when tracing (`core/tracing.py`), and
its fields on log lines (`core/logs.py`) and on gunicorn's access line."""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request

from core import metrics
from core.tracing import Tracing

UNMATCHED = "unmatched"  # no route: 404s and 405s of any path count as one route
# a client may send any method: the others count as one, so that no client makes new series
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # <job_id>, <job_id:job_id>
TENANT_ENVIRON = "gateway.tenant"  # read by gunicorn's access line (gunicorn.conf.py)


def init_app(app: Flask, tracing: Tracing) -> None:
    """Registered before the app's other hooks, so that even a request refused by them counts."""
    app.before_request(_started)
    app.after_request(_answered)
    app.extensions["tracing"] = tracing
    if tracing.enabled:
        app.teardown_request(_ended)


@functools.lru_cache(maxsize=256)  # one entry per route of the app
def route_template(rule: str) -> str:
    """`/v1/jobs/<job_id:job_id>/result` -> `/v1/jobs/{job_id}/result` (OpenAPI's spelling)."""
    return VARIABLE.sub(r"{\1}", rule)


def _route() -> str:
    rule = request.url_rule
    return route_template(rule.rule) if rule is not None else UNMATCHED


def _started() -> None:
    g.started = time.perf_counter()
    tracing = _tracing()
    if tracing.enabled:
        route = _route()
        g.span = tracing.begin_request(
            f"{request.method} {route}", request.headers.get("traceparent"),
            {"http.request.method": request.method, "http.route": route,
             "url.path": request.path})


def _answered(response: Response) -> Response:
    started = g.get("started")
    if started is not None:
        method = request.method if request.method in METHODS else "other"
        labels = (method, _route(), str(response.status_code))
        metrics.HTTP_REQUESTS.labels(*labels).inc()
        metrics.HTTP_SECONDS.labels(*labels).observe(time.perf_counter() - started)
    tenant = g.get("tenant")
    if tenant:
        request.environ[TENANT_ENVIRON] = tenant
    g.status = response.status_code
    return response


def _ended(_error: BaseException | None) -> None:
    _tracing().end_request(g.pop("span", None), g.get("status"))


def _tracing() -> Tracing:
    return current_app.extensions["tracing"]


def log_fields() -> dict[str, Any]:
    """The request's id and tenant, and the job its path names, for log lines."""
    if not has_request_context():
        return {}
    return {"request_id": g.get("request_id"), "tenant": g.get("tenant"),
            "job_id": (request.view_args or {}).get("job_id")}
