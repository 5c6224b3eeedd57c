"""Operations routes, no key needed: health, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from app.api import GatewayBlueprint
from app.gateway import Gateway, gateway
from core import metrics as process_metrics
from core import queueing
from core.store.health import redis_warnings

ops = GatewayBlueprint("ops", __name__, description="Operations")
PUBLIC: list[dict[str, list[str]]] = []  # OpenAPI security override: no key needed


@ops.get("/healthz")
@ops.doc(security=PUBLIC, operationId="getHealth")
@ops.response(200, description="The process is up")
def healthz() -> Any:
    """Liveness"""
    return {"status": "ok"}


@ops.get("/readyz")
@ops.doc(security=PUBLIC, operationId="getReadiness")
@ops.response(200, description="Redis answers, a worker is alive and, with an IBM Quantum "
                                "account, its devices were read once (or reading them failed, "
                                "which `ibm_quantum` reports)")
@ops.alt_response(503, description="Not ready, with the reason")
def readyz() -> Any:
    """Readiness"""
    checks, reason = readiness(gateway())
    if reason:
        checks["reason"] = reason
    return checks, 503 if reason else 200


def readiness(gw: Gateway) -> tuple[dict[str, Any], str | None]:
    """What /readyz shows, and why the process is not ready (None when it is)."""
    checks: dict[str, Any] = {"redis": "ok", "workers": 0}
    try:
        gw.store.redis.ping()
        checks["workers"] = queueing.workers_alive(gw.queue)
        # said loudly at start too (create_app); here until the operator fixes it
        checks["redis_warnings"] = redis_warnings(gw.store.redis, gw.store.durable.replicas)
        states = {provider.name: provider.readiness() for provider in gw.providers.all}
    except Exception as exc:  # any Redis failure means not ready
        checks["redis"] = f"error: {type(exc).__name__}"
        states = {provider.name: ("unknown (Redis does not answer)", None, None)
                  for provider in gw.providers.all}
    checks["runtimes"] = {name: status for name, (status, _, _) in states.items()}
    checks |= {name: detail for name, (_, detail, _) in states.items() if detail is not None}
    if checks["redis"] != "ok":
        return checks, f"Redis does not answer ({checks['redis']})"
    waiting = next((why for _, _, why in states.values() if why), None)
    return checks, "no worker is alive" if checks["workers"] <= 0 else waiting


@ops.get("/metrics")
@ops.doc(security=PUBLIC, operationId="getPrometheusMetrics")
@ops.response(200, description="Prometheus text format")
def metrics() -> Any:
    """Prometheus metrics (this host's processes, and the gateway's figures in Redis)"""
    return Response(process_metrics.exposition(RedisCollector(gateway())),
                    mimetype="text/plain; version=0.0.4")


class RedisCollector:
    """What Redis holds of the whole gateway, read at each scrape (counted once for all
    processes and hosts, unlike what `core/metrics.py` counts)."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def collect(self) -> Any:
        transitions = CounterMetricFamily(
            "gateway_job_transitions", "Jobs entering each status", labels=["status"])
        for status, count in sorted(self.gw.stats.transitions().items()):
            transitions.add_metric([status], float(count))
        yield transitions
        yield GaugeMetricFamily("gateway_queue_depth", "Jobs waiting in the queue",
                                value=float(self.gw.queue.count))
        yield GaugeMetricFamily("gateway_jobs_running", "Jobs running now",
                                value=float(self.gw.leases.running_count()))
        yield GaugeMetricFamily("gateway_workers", "Live RQ workers", value=float(
            queueing.workers_alive(self.gw.queue)))
        yield CounterMetricFamily(
            "gateway_redis_unreplicated_writes", "Acknowledged writes that no replica had within "
            "GATEWAY_REDIS_WAIT_MS", value=float(self.gw.store.durable.unreplicated()))


@ops.get("/openapi.yaml")
@ops.doc(security=PUBLIC, operationId="getOpenApiDocument")
@ops.response(200, description="This API's OpenAPI document (YAML)")
def openapi_yaml() -> Any:
    """The OpenAPI document"""
    return Response(openapi_document(), mimetype="application/yaml")


def openapi_document() -> str:
    """The spec generated from the code; `make openapi` writes the same text to openapi.yaml."""
    return current_app.extensions["gateway_api"].spec.to_yaml()

