"""Every setting of the gateway, read from the environment in this one place.

Both the web side (`app/`) and the workers import `Config`; nothing else reads `os.environ`.
Each variable is listed, with its default, in the README's configuration table.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _host_cpus() -> int:
    return len(os.sched_getaffinity(0))


def _list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name} is one of {', '.join(choices)}, not {value!r}")
    return value


# Standard Webhooks' recommendation: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h between attempts
WEBHOOK_RETRY_SCHEDULE = "5,300,1800,7200,18000,36000,36000"


def _addresses(name: str) -> list[tuple[str, int]]:
    """`host:port,host:port` as (host, port) pairs."""
    pairs = [item.rsplit(":", 1) for item in _list(name)]
    if any(len(pair) != 2 or not pair[1].isdigit() for pair in pairs):
        raise ValueError(f"{name} is a comma-separated list of host:port")
    return [(host, int(port)) for host, port in pairs]


class Config:
    """Settings, with explicit conversions. Instantiate to read the environment now."""

    def __init__(self) -> None:
        self.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        self.REDIS_PREFIX = os.environ.get("GATEWAY_REDIS_PREFIX", "gw")
        self.REDIS_TIMEOUT_SECONDS = _float("GATEWAY_REDIS_TIMEOUT_SECONDS", 3.0)
        self.REDIS_SENTINELS = _addresses("GATEWAY_REDIS_SENTINELS")
        self.REDIS_SENTINEL_MASTER = os.environ.get("GATEWAY_REDIS_SENTINEL_MASTER", "mymaster")
        self.REDIS_PASSWORD = os.environ.get("GATEWAY_REDIS_PASSWORD") or None
        self.REDIS_SENTINEL_PASSWORD = os.environ.get("GATEWAY_REDIS_SENTINEL_PASSWORD") or None
        self.REDIS_WAIT_REPLICAS = _int("GATEWAY_REDIS_WAIT_REPLICAS",
                                        1 if self.REDIS_SENTINELS else 0)
        self.REDIS_WAIT_MS = _int("GATEWAY_REDIS_WAIT_MS", 250)
        self.API_KEYS = os.environ.get("GATEWAY_API_KEYS", "")
        self.MAX_BODY_BYTES = _int("GATEWAY_MAX_BODY_BYTES", 5 * 1024 * 1024)
        self.MAX_PUBS = _int("GATEWAY_MAX_PUBS", 100)
        self.MAX_SHOTS = _int("GATEWAY_MAX_SHOTS", 100_000)
        self.MAX_QUBITS = _int("GATEWAY_MAX_QUBITS", 160)
        self.MAX_CIRCUIT_CHARS = _int("GATEWAY_MAX_CIRCUIT_CHARS", 1_000_000)
        self.MAX_PARAMETER_SETS = _int("GATEWAY_MAX_PARAMETER_SETS", 10_000)
        self.FACADE_MAX_SAMPLEX_OUTPUTS = _int("GATEWAY_FACADE_MAX_SAMPLEX_OUTPUTS", 100_000)
        self.DEFAULT_SHOTS = _int("GATEWAY_DEFAULT_SHOTS", 1024)
        self.MAX_CLBITS = _int("GATEWAY_MAX_CLBITS", 1024)
        self.MAX_OPERATIONS = _int("GATEWAY_MAX_OPERATIONS", 1_000_000)
        self.MAX_GATE_DEPTH = _int("GATEWAY_MAX_GATE_DEPTH", 10)
        self.MAX_PROGRAM_NESTING = _int("GATEWAY_MAX_PROGRAM_NESTING", 32)
        self.MAX_TOTAL_SHOTS = _int("GATEWAY_MAX_TOTAL_SHOTS", 10_000_000)
        self.MAX_BROADCAST = _int("GATEWAY_MAX_BROADCAST", 1_000_000)
        self.MAX_JSON_DEPTH = _int("GATEWAY_MAX_JSON_DEPTH", 32)
        self.PARSE_PROCESSES = _int("GATEWAY_PARSE_PROCESSES", 2)
        self.PARSE_TIMEOUT_SECONDS = _float("GATEWAY_PARSE_TIMEOUT_SECONDS", 5.0)
        self.PARSE_SECONDS_PER_MB = _float("GATEWAY_PARSE_SECONDS_PER_MB", 60.0)
        self.PARSE_MEMORY_BYTES = _int("GATEWAY_PARSE_MEMORY_BYTES", 1024**3)
        self.MAX_REQUEST_LINE = _int("GATEWAY_MAX_REQUEST_LINE", 8190)
        self.MAX_HEADERS = _int("GATEWAY_MAX_HEADERS", 100)
        self.MAX_HEADER_BYTES = _int("GATEWAY_MAX_HEADER_BYTES", 8190)
        self.MAX_RESULT_SAMPLES = _int("GATEWAY_MAX_RESULT_SAMPLES", 1_000_000)
        self.JOB_RETENTION_SECONDS = _int("GATEWAY_JOB_RETENTION_SECONDS", 7 * 24 * 3600)
        self.JOB_TIME_LIMIT_SECONDS = _float("GATEWAY_JOB_TIME_LIMIT_SECONDS", 600.0)
        self.JOB_MAX_ATTEMPTS = _int("GATEWAY_JOB_MAX_ATTEMPTS", 2)
        self.MAX_WAIT_SECONDS = _float("GATEWAY_MAX_WAIT_SECONDS", 60.0)
        self.WORKER_LEASE_SECONDS = _float("GATEWAY_WORKER_LEASE_SECONDS", 10.0)
        self.WORKER_DRAIN_SECONDS = _float("GATEWAY_WORKER_DRAIN_SECONDS", 30.0)
        self.WORKER_REDIS_PATIENCE_SECONDS = _float("GATEWAY_WORKER_REDIS_PATIENCE_SECONDS", 60.0)
        self.WORKER_PREWARM = _list("GATEWAY_WORKER_PREWARM", "aer_simulator,fake_manila")
        self.QUEUE_NAME = os.environ.get("GATEWAY_QUEUE", "jobs")
        self.CORS_ORIGINS = _list("GATEWAY_CORS_ORIGINS")
        self.KEY_CACHE_SECONDS = _float("GATEWAY_KEY_CACHE_SECONDS", 5.0)
        self.STREAM_TOKEN_SECONDS = _int("GATEWAY_STREAM_TOKEN_SECONDS", 300)
        self.SSE_HEARTBEAT_SECONDS = _float("GATEWAY_SSE_HEARTBEAT_SECONDS", 15.0)
        self.LOG_LEVEL = os.environ.get("GATEWAY_LOG_LEVEL", "INFO")
        self.LOG_FORMAT = _choice("GATEWAY_LOG_FORMAT", "text", ("text", "json"))
        self.ACCESS_LOG = _bool("GATEWAY_ACCESS_LOG")
        # prometheus_client reads it too, when it is imported: whoever starts the processes of
        # a host sets it for all of them (`make run`, the image), see core/metrics.py
        self.METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
        self.METRICS_PORT = _int("GATEWAY_METRICS_PORT", 0)
        self.METRICS_TENANTS = _list("GATEWAY_METRICS_TENANTS")
        # the OpenTelemetry SDK reads every other OTEL_* variable itself (core/tracing.py)
        self.OTLP_ENDPOINT = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
                              or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
        self.TRACING = bool(self.OTLP_ENDPOINT) and not _bool("OTEL_SDK_DISABLED")
        self.PORT = _int("PORT", 8000)
        self.BIND = os.environ.get("GATEWAY_BIND") or "127.0.0.1"
        self.WEB_PROCESSES = _int("GATEWAY_WEB_PROCESSES", 2)
        self.WEB_CONNECTIONS = _int("GATEWAY_WEB_CONNECTIONS", 10_000)
        self.WORKERS = _int("GATEWAY_WORKERS", 2)
        self.TENANT_MAX_RUNNING = _int("GATEWAY_TENANT_MAX_RUNNING", 0)
        self.TENANT_MAX_QUEUED = _int("GATEWAY_TENANT_MAX_QUEUED", 1000)
        # sessions (core/sessions.py): IBM's defaults and ceilings, and the reservations' caps
        self.SESSION_MAX_TTL_SECONDS = _int("GATEWAY_SESSION_MAX_TTL_SECONDS", 8 * 3600)
        self.SESSION_INTERACTIVE_TTL_SECONDS = _int("GATEWAY_SESSION_INTERACTIVE_TTL_SECONDS",
                                                    60)
        self.TENANT_MAX_DEDICATED_SESSIONS = _int("GATEWAY_TENANT_MAX_DEDICATED_SESSIONS", 1)
        self.MAX_DEDICATED_SESSIONS = _int("GATEWAY_MAX_DEDICATED_SESSIONS", 4)
        self.KEY_REQUESTS_PER_SECOND = _int("GATEWAY_KEY_REQUESTS_PER_SECOND", 100)
        self.TENANT_SUBMITS_PER_MINUTE = _int("GATEWAY_TENANT_SUBMITS_PER_MINUTE", 600)
        self.TENANT_MAX_STREAMS = _int("GATEWAY_TENANT_MAX_STREAMS", 100)
        self.TENANT_MAX_STORED_BYTES = _int("GATEWAY_TENANT_MAX_STORED_BYTES", 1024**3)
        self.AUTH_FAILURES_PER_MINUTE = _int("GATEWAY_AUTH_FAILURES_PER_MINUTE", 20)
        self.TRUSTED_PROXIES = _int("GATEWAY_TRUSTED_PROXIES", 0)
        self.CONTROL_SOCKET = os.environ.get("GATEWAY_CONTROL_SOCKET", "")
        self.WORKERS_PER_HOST = _int("GATEWAY_WORKERS_PER_HOST", max(self.WORKERS, 1))
        self.WORKER_MEMORY_BYTES = _int("GATEWAY_WORKER_MEMORY_BYTES",
                                        _host_memory() // max(self.WORKERS_PER_HOST, 1))
        self.WORKER_THREADS = _int("GATEWAY_WORKER_THREADS",
                                   max(1, _host_cpus() // max(self.WORKERS_PER_HOST, 1)))
        self.REDIS_URL_SET = bool(os.environ.get("REDIS_URL"))
        self.IBM_TOKEN = os.environ.get("QISKIT_IBM_TOKEN", "")
        self.IBM_INSTANCE = os.environ.get("QISKIT_IBM_INSTANCE", "")
        self.IBM_CHANNEL = os.environ.get("QISKIT_IBM_CHANNEL", "ibm_quantum_platform")
        self.IBM_URL = os.environ.get("QISKIT_IBM_URL", "")
        self.IBM_QUEUE = os.environ.get("GATEWAY_IBM_QUEUE", "ibm")
        self.IBM_SUBMITS_PER_WINDOW = _int("GATEWAY_IBM_SUBMITS_PER_WINDOW", 5)
        self.IBM_SUBMIT_WINDOW_SECONDS = _float("GATEWAY_IBM_SUBMIT_WINDOW_SECONDS", 60.0)
        self.IBM_POLL_MIN_SECONDS = _float("GATEWAY_IBM_POLL_MIN_SECONDS", 2.0)
        self.IBM_POLL_MAX_SECONDS = _float("GATEWAY_IBM_POLL_MAX_SECONDS", 300.0)
        self.IBM_BACKENDS_REFRESH_SECONDS = _float("GATEWAY_IBM_BACKENDS_REFRESH_SECONDS", 900.0)
        self.IBM_REATTACH_SECONDS = _float("GATEWAY_IBM_REATTACH_SECONDS", 60.0)
        self.WEBHOOK_SECRET_KEYS = _list("GATEWAY_WEBHOOK_SECRET_KEY")  # the first seals
        self.WEBHOOK_RETRY_SCHEDULE = [float(s) for s in _list("GATEWAY_WEBHOOK_RETRY_SCHEDULE",
                                                               WEBHOOK_RETRY_SCHEDULE)]
        self.WEBHOOK_ALLOW_NETWORKS = _list("GATEWAY_WEBHOOK_ALLOW_NETWORKS")
        self.WEBHOOK_ALLOW_HTTP = _bool("GATEWAY_WEBHOOK_ALLOW_HTTP")
        self.WEBHOOK_MAX_ENDPOINTS = _int("GATEWAY_WEBHOOK_MAX_ENDPOINTS", 20)
        self.WEBHOOK_DISABLE_AFTER_DAYS = _float("GATEWAY_WEBHOOK_DISABLE_AFTER_DAYS", 5.0)
        self.WEBHOOK_TIMEOUT_SECONDS = _float("GATEWAY_WEBHOOK_TIMEOUT_SECONDS", 10.0)
        self.WEBHOOK_SENDERS = _int("GATEWAY_WEBHOOK_SENDERS", 8)
        self.WEBHOOK_ENDPOINT_IN_FLIGHT = _int("GATEWAY_WEBHOOK_ENDPOINT_IN_FLIGHT", 2)

    @property
    def listen_address(self) -> str:
        """gunicorn's `bind`: BIND and PORT (an IPv6 address in brackets)."""
        host = f"[{self.BIND}]" if ":" in self.BIND else self.BIND
        return f"{host}:{self.PORT}"
