"""Traces of the API and the workers, exported by OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
(or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. The OpenTelemetry SDK reads the other standard
variables itself: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS,
_TIMEOUT and _COMPRESSION, OTEL_TRACES_SAMPLER, OTEL_BSP_* (the batches). OTEL_SDK_DISABLED=true
turns it off.

Without an endpoint a process has `Tracing()`, which imports nothing and computes nothing: each
method returns at once (a shared null context manager for a span).

A submission's trace context, its W3C `traceparent`, is stored with the job (`traceparent` in
its record); the worker starts the job's spans with it as their parent, so that one trace goes
from the HTTP request that created a job, honouring the client's own `traceparent`, to the
write of its result. What the simulation process times (transpile, simulate) it sends to its
worker, which records the spans (`workers/executor.py`): only the worker exports.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

from core.config import Config

NOTHING = contextlib.nullcontext()
TRACEPARENT = "traceparent"


class Tracing:
    def __init__(self, tracer: Any = None, provider: Any = None) -> None:
        self._tracer, self._provider = tracer, provider

    @classmethod
    def start(cls, config: Config, service: str) -> Tracing:
        """This process's tracing: off unless an OTLP endpoint is set. `service` names the
        process in the traces unless OTEL_SERVICE_NAME does."""
        if not config.TRACING:
            return cls()
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        resource = Resource.create()
        if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
            resource = resource.merge(Resource({SERVICE_NAME: service}))
        provider = TracerProvider(resource=resource)
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        return cls(provider.get_tracer("quantum-jobs-gateway"), provider)

    @property
    def enabled(self) -> bool:
        return self._tracer is not None

    def span(self, name: str, parent: str | None = None, start: int | None = None,
             attributes: Mapping[str, Any] | None = None) -> contextlib.AbstractContextManager:
        """A span around a block, the current one's child, or `parent`'s (a `traceparent`);
        `start` (ns since the epoch) when it began before the block."""
        if self._tracer is None:
            return NOTHING
        return self._tracer.start_as_current_span(
            name, context=_context(parent) if parent else None, start_time=start,
            attributes=attributes)

    def record(self, name: str, start: int, end: int,
               attributes: Mapping[str, Any] | None = None) -> None:
        """A span that is over already, timed elsewhere, as a child of the current one."""
        if self._tracer is not None:
            self._tracer.start_span(name, start_time=start, attributes=attributes).end(end)

    def clock(self) -> int | None:
        """Now, for a span's `start`, when tracing (ns since the epoch)."""
        return time.time_ns() if self._tracer is not None else None

    def traceparent(self) -> str | None:
        """The current span's W3C traceparent, to store with a job; None when not tracing."""
        if self._tracer is None:
            return None
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(carrier)
        return carrier.get(TRACEPARENT)

    def log_fields(self) -> dict[str, Any]:
        """`trace_id` of the current span, for log lines."""
        if self._tracer is None:
            return {}
        from opentelemetry import trace

        found = trace.get_current_span().get_span_context()
        return {"trace_id": f"{found.trace_id:032x}"} if found.is_valid else {}

    def begin_request(self, name: str, traceparent: str | None,
                      attributes: Mapping[str, Any]) -> Any:
        """A server span for an HTTP request, the child of the `traceparent` it sent if any
        (an invalid one is ignored), current until `end_request`; None when not tracing."""
        if self._tracer is None:
            return None
        from opentelemetry import context, trace

        parent = _context(traceparent) if traceparent else None
        span = self._tracer.start_span(name, context=parent, kind=trace.SpanKind.SERVER,
                                       attributes=attributes)
        return span, context.attach(trace.set_span_in_context(span))

    def end_request(self, begun: Any, status: int | None) -> None:
        if begun is None:
            return
        from opentelemetry import context, trace

        span, token = begun
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.StatusCode.ERROR)
        span.end()
        context.detach(token)

    def shutdown(self) -> None:
        """Export what is left (a process about to end)."""
        if self._provider is not None:
            self._provider.shutdown()


def _context(traceparent: str) -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator().extract({TRACEPARENT: traceparent})
