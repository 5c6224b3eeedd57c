"""gunicorn settings: gevent workers, so that thousands of open event streams and long polls
wait on Redis without holding a thread each. `gunicorn 'app:create_app()'` reads this file."""

import os
import shutil
import tempfile
from typing import Any

from gunicorn.glogging import Logger

from core import logs  # stdlib only: nothing of the app, nor redis (see _register_keys)
from core.config import Config

_config = Config()
bind = _config.listen_address  # loopback unless GATEWAY_BIND says otherwise
workers = _config.WEB_PROCESSES
worker_class = "gevent"
worker_connections = _config.WEB_CONNECTIONS
keepalive = 30
# bounded before anything is buffered; gunicorn refuses what is over (414, 431, 400) as
# problem+json (app/gunicorn_errors.py)
limit_request_line = _config.MAX_REQUEST_LINE
limit_request_fields = _config.MAX_HEADERS
limit_request_field_size = _config.MAX_HEADER_BYTES
graceful_timeout = 10
# X-Forwarded-For/-Proto are read by the app alone (ProxyFix, GATEWAY_TRUSTED_PROXIES): gunicorn
# itself trusts them from no one, so that a local client cannot forge its scheme either
forwarded_allow_ips = ""
# gunicorn's control socket (`gunicornc`) is one path per user by default, which two gateways on a
# host, or the gateway and another gunicorn app, would overwrite: off unless given a path
control_socket_disable = not _config.CONTROL_SOCKET
if _config.CONTROL_SOCKET:
    control_socket = _config.CONTROL_SOCKET
# off by default: the request metrics and traces cover requests, and a line per request costs
# at thousands per second; with GATEWAY_ACCESS_LOG, one line per request (see GatewayLogger)
accesslog = "-" if _config.ACCESS_LOG else None
errorlog = "-"
loglevel = _config.LOG_LEVEL.lower()


class GatewayLogger(Logger):
    """gunicorn's error and access logs in GATEWAY_LOG_FORMAT, with the gateway's redaction. An
    access line names the path without its query string (a browser's stream token travels in
    it), the request id and the tenant (which the app leaves in the WSGI environ)."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        formatter = logs.formatter(_config)
        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            handler.setFormatter(formatter)

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        """Reads logs.ACCESS_ENVIRON of the environ, no more: an event stream keeps no more."""
        if not self.cfg.accesslog:
            return
        status = int(str(resp.status).split(None, 1)[0])
        method, path = environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "-")
        request_id = dict(resp.headers).get("X-Request-ID")
        fields = {"method": method, "path": path, "status": status, "bytes": resp.sent,
                  "duration_ms": round(request_time.total_seconds() * 1000, 3),
                  "remote_addr": environ.get("REMOTE_ADDR"), "request_id": request_id,
                  "tenant": environ.get("gateway.tenant"),
                  "user_agent": environ.get("HTTP_USER_AGENT")}
        self.access_log.info('%s "%s %s" %s %s %.0fms %s', fields["remote_addr"], method, path,
                             status, resp.sent, fields["duration_ms"], request_id or "-",
                             extra=fields)


logger_class = GatewayLogger


REGISTERED, WAITING = "registered", "waiting for Redis"  # what the child tells first


class _Metrics:
    """Where the API processes count their metrics (core/metrics.py): a directory named before
    any of them imports prometheus_client. Without one from whoever started gunicorn (`make
    run`, the image), a fresh one of this server's own, removed when it stops."""

    directory = _config.METRICS_DIR
    own = False

    @classmethod
    def prepare(cls) -> None:
        if not cls.directory:
            cls.directory, cls.own = tempfile.mkdtemp(prefix="gateway-metrics-"), True
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = cls.directory  # for the API processes
        os.makedirs(cls.directory, exist_ok=True)


def on_starting(_server: object) -> None:
    """Logging and the metrics' directory of the master and its processes. Keys in
    GATEWAY_API_KEYS are the environment's: once per start, before any process
    serves, they are registered and those dropped from the variable removed; a weak one stops
    the start. While Redis is away this is tried again in the background: an API started
    during an outage serves (503s) rather than dying."""
    logs.configure(_config)  # the master's own lines, and its forked key registration's
    _Metrics.prepare()
    outcome = _register_keys()
    if outcome not in (REGISTERED, WAITING):
        raise SystemExit(f"refusing to start: {outcome or 'registering GATEWAY_API_KEYS failed'}")


def _register_keys() -> str:
    """Registers the keys in a forked child, which tells its first outcome and, while Redis is
    away, keeps trying. The master itself never imports redis or the app: what it imports, the
    API processes inherit before gevent patches the standard library, unpatched (redis.retry's
    `from time import sleep` would stall a whole API process while it backs off)."""
    import os

    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        code = 1
        try:
            _register_until_done(write)
            code = 0
        except Exception:
            import logging

            logging.getLogger("gateway.api").exception("registering GATEWAY_API_KEYS failed")
        finally:  # Ctrl-C included: quietly
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        outcome = pipe.readline().strip()
    if outcome != WAITING:  # it has ended (the arbiter reaps it later otherwise)
        os.waitpid(child, 0)
    return outcome


def _register_until_done(write: int) -> None:
    import logging
    import os
    import time

    import redis

    from core.store.api_keys import KeyStore
    from core.store.connection import Connection

    master, keys = os.getppid(), KeyStore(Connection.for_config(_config))
    with os.fdopen(write, "w") as pipe:
        while os.getppid() == master:  # the master is gone: so is this
            try:
                keys.register_from_env(_config.API_KEYS)
                outcome = REGISTERED
            except ValueError as exc:
                outcome = str(exc)
            except redis.RedisError as exc:
                logging.getLogger("gateway.api").warning(
                    "GATEWAY_API_KEYS not registered yet (%s); trying again", type(exc).__name__)
                outcome = WAITING
            if not pipe.closed:
                pipe.write(outcome + "\n")
                pipe.close()
            if outcome != WAITING:
                return
            time.sleep(2.0)


def child_exit(_server: object, worker: Any) -> None:
    """An API process ended (or was killed): its live gauges (event streams open) leave the
    sum; its counters stay. (The import here, in the master, is prometheus_client's documented
    way; its locks are held for a memory write only, never across a wait, so the unpatched ones
    the next API processes inherit cannot stall them.)"""
    from prometheus_client.multiprocess import mark_process_dead

    mark_process_dead(worker.pid, _Metrics.directory)


def on_exit(_server: object) -> None:
    if _Metrics.own:
        shutil.rmtree(_Metrics.directory, ignore_errors=True)


def post_fork(_server: object, worker: Any) -> None:
    """SIGINT (Ctrl-C) and SIGQUIT, gunicorn's quick stop, stop a process the graceful way, from
    its first moment: gunicorn's gevent worker would exit with SystemExit from a greenlet,
    which breaks into the process's own exit and prints tracebacks. A process still busy after
    graceful_timeout is killed by the master all the same."""
    worker.handle_quit = worker.handle_exit  # init_signals, next, installs it


def post_worker_init(worker: object) -> None:
    """Start the parse processes; keep garbage-collector pauses short with thousands of open
    event streams: a full collection walks every tracked object, and each pause delays every
    stream of the process."""
    import gc

    import gevent

    from app.gunicorn_errors import install
    from core import catalog

    install()  # gunicorn's own refusals answer problem+json (in this process, patched now)
    gevent.config.track_greenlet_tree = False  # spawn-tree records: ~11 objects per connection
    # the parse processes (core/parse_pool.py), forked now rather than on the first submissions,
    # and before the freeze, which then covers the parsers' imports too
    gateway = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("gateway")
    if gateway is not None:
        # what the first requests would load, loaded now so that the freeze covers it: the
        # backend catalog imports qiskit-ibm-runtime's fake devices (~1,300 modules, ~170k
        # objects; left to a request, they made every later full collection a 50 ms pause)
        catalog.local_backends()
        gateway.parsers.start()
    gc.freeze()  # the app and its imports (300k+ objects) are never garbage: stop walking them
    # Measured with 2,500 streams open and one hot job: at the default 700, young collections
    # ran ~17 times a second and each promoted whatever hundreds of suspended greenlets held at
    # that instant, so a full collection (~200 ms, finding nothing) came every few seconds.
    gc.set_threshold(10_000, 10, 10)
    _end_streams_on_stop(worker)


def _end_streams_on_stop(worker: Any) -> None:
    """SIGTERM, a graceful stop (and SIGINT, SIGQUIT: see post_fork): gunicorn stops accepting
    and lets in-flight requests finish within graceful_timeout. Event streams would not finish:
    end them at once, each with a `retry:`, so that their clients resume from Last-Event-ID on
    another process."""
    import signal

    import gevent

    gateway = worker.wsgi.extensions.get("gateway")
    if gateway is None:  # another app under these settings (the bench's floor): no streams
        return

    def handle_exit(_signum: int, _frame: object) -> None:
        worker.alive = False  # what gunicorn's own handler does
        gevent.spawn(gateway.hub.close)  # out of the signal handler: it takes a lock

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, handle_exit)
