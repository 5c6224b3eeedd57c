"""gunicorn settings: gevent workers, so that thousands of open event streams and long polls
wait on Redis without holding a thread each. `gunicorn 'app:create_app()'` reads this file."""

from app.gunicorn_errors import install
from core.config import Config

_config = Config()
install()  # gunicorn's own refusals answer problem+json
bind = f"0.0.0.0:{_config.PORT}"
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
accesslog = None
errorlog = "-"
loglevel = _config.LOG_LEVEL.lower()


def post_worker_init(worker: object) -> None:
    """Start the parse processes; keep garbage-collector pauses short with thousands of open
    event streams: a full collection walks every tracked object, and each pause delays every
    stream of the process."""
    import gc

    import gevent

    gevent.config.track_greenlet_tree = False  # spawn-tree records: ~11 objects per connection
    # the parse processes (core/parse_pool.py), forked now rather than on the first submissions,
    # and before the freeze, which then covers the parsers' imports too
    gateway = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("gateway")
    if gateway is not None:
        gateway.parsers.start()
    gc.freeze()  # the app and its imports (100k+ objects) are never garbage: stop walking them
    # Measured with 2,500 streams open and one hot job: at the default 700, young collections
    # ran ~17 times a second and each promoted whatever hundreds of suspended greenlets held at
    # that instant, so a full collection (~200 ms, finding nothing) came every few seconds.
    gc.set_threshold(10_000, 10, 10)
