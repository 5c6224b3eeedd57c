"""`make run`: Redis (unless REDIS_URL or GATEWAY_REDIS_SENTINELS is set), the API under
gunicorn, RQ workers and the webhook deliverer, in the foreground and supervised: a process that
dies is started again, after a pause that grows while it keeps dying (logged, and counted in
`gateway_process_restarts_total`), and the others go on serving. Ctrl-C or SIGTERM stops
everything.

All of them count their metrics into one directory, emptied at start (PROMETHEUS_MULTIPROC_DIR,
by default `./var/metrics`), so that the API's `/metrics` sums them (core/metrics.py)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis

from core import logs
from core.config import Config
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from core.store.leases import Leases
from scripts.local_redis import start_redis

ROOT = Path(__file__).resolve().parent.parent
STEADY_SECONDS = 60  # a process that ran this long before dying is restarted at once
MAX_PAUSE_SECONDS = 30
STOP_SECONDS = 10  # Ctrl-C: API and workers get this (workers: plus their drain) to stop
QUICK_EXIT_SECONDS = 2.0  # what an idle worker, or the API with no request, takes to stop
RQ_SIGNAL_GAP_SECONDS = 1.1  # RQ ignores a second stop signal within a second of the first
HAND_BACK_SECONDS = 5.0  # a worker stopped at once: to hand its job back
LOOPBACK = ("127.0.0.1", "::1", "localhost")
log = logging.getLogger("gateway.supervisor")


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen]
    process: subprocess.Popen | None = None
    started: float = 0.0
    failures: int = 0  # deaths in a row, each soon after its start
    restart_at: float = 0.0

    def check(self) -> None:
        """Start it if due; notice if it died and schedule its restart."""
        now = time.monotonic()
        if self.process is None:
            if now >= self.restart_at:
                self._launch()
            return
        code = self.process.poll()
        if code is None:
            return
        ran = now - self.started
        self.failures = 0 if ran > STEADY_SECONDS else self.failures + 1
        pause = 0.0 if not self.failures else min(MAX_PAUSE_SECONDS, 0.5 * 2 ** self.failures)
        say(f"{self.name} exited (code {code}) after {ran:.1f} s; starting it again in "
            f"{pause:g} s")
        self.process, self.restart_at = None, now + pause
        from core import metrics  # imported once `main` has named the metrics' directory

        metrics.restarted(self.name.split("-")[0], "exited")

    def _launch(self) -> None:
        try:
            self.process, self.started = self.start(), time.monotonic()
        except Exception as exc:  # e.g. Redis did not come up: try again later
            self.failures += 1
            self.restart_at = time.monotonic() + min(MAX_PAUSE_SECONDS, 2 ** self.failures)
            say(f"{self.name} did not start ({exc}); trying again")


def say(message: str) -> None:
    """A line of the supervisor's own: `HH:MM:SS supervisor: …`, or a JSON log line."""
    log.info(message)


def tell(config: Config, text: str) -> None:
    """What `make run` shows whoever started it: as it is, or as JSON log lines."""
    if config.LOG_FORMAT == "json":
        for line in filter(None, (line.strip() for line in text.splitlines())):
            log.info(line)
    else:
        print(text, flush=True)


def configure_logging(config: Config) -> None:
    """Its children log in GATEWAY_LOG_FORMAT by themselves; the supervisor's own lines say
    what an operator must know, whatever GATEWAY_LOG_LEVEL."""
    logs.configure(config)
    log.setLevel(logging.INFO)
    if config.LOG_FORMAT == "text":
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s supervisor: %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.propagate = False


def prepare_metrics(config: Config, env: dict[str, str]) -> None:
    """One directory for the metrics of every process started here, emptied now: counts of an
    earlier run, or of processes with the same pids, must not add up with these."""
    directory = Path(config.METRICS_DIR or ROOT / "var" / "metrics")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    env["PROMETHEUS_MULTIPROC_DIR"] = os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def main() -> None:
    config = Config()
    configure_logging(config)
    env = dict(os.environ)
    prepare_metrics(config, env)
    children: list[Child] = []
    stop = _install_stop_handlers()  # first: a Ctrl-C while Redis starts stops quietly too
    connection = Connection.for_config(config)  # the Redis given, unless one is started here
    if not config.REDIS_URL_SET and not config.REDIS_SENTINELS:
        redis_process, env["REDIS_URL"] = start_redis(ROOT / "var" / "redis")
        connection = Connection.open(env["REDIS_URL"], config.REDIS_PREFIX)
        port = int(env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        redis_child = Child("redis", lambda: start_redis(ROOT / "var" / "redis", port)[0])
        redis_child.process, redis_child.started = redis_process, time.monotonic()
        children.append(redis_child)
        (ROOT / "var" / "redis.url").write_text(env["REDIS_URL"])  # for `make key`
        tell(config, f"Redis: {env['REDIS_URL']} (data in ./var/redis, AOF, noeviction)")
    try:
        if not stop:
            _announce_key(KeyStore(connection), config)
            tell(config, banner(config))
        if not config.WEBHOOK_SECRET_KEYS:
            env["GATEWAY_WEBHOOK_SECRET_KEY"] = _local_sealing_key()
        children.append(Child("api", lambda: _python(env, "-m", "gunicorn", "-c",
                                                     str(ROOT / "gunicorn.conf.py"),
                                                     "app:create_app()")))
        children += [Child(f"worker-{n + 1}", lambda: _python(env, "-m", "workers"))
                     for n in range(config.WORKERS)]
        children.append(Child("webhooks", lambda: _python(env, "-m", "workers.webhooks")))
        while not stop:
            for child in children:
                child.check()
            time.sleep(0.2)
    finally:
        _stop_all(children, stop, config, connection)


def banner(config: Config) -> str:
    """Where the API listens, and whether other machines can reach it."""
    line = f"\nQuantum jobs gateway on http://{config.listen_address}  (docs: /docs)\n"
    if config.BIND not in LOOPBACK:
        line += (f"Listening on {config.BIND} (GATEWAY_BIND): other machines can reach the API, "
                 "and /metrics, which needs no key.\n")
    return line


def _python(env: dict[str, str], *args: str) -> subprocess.Popen:
    # a process group of its own: a terminal's Ctrl-C reaches the supervisor alone, which
    # stops each child the graceful way (gunicorn takes SIGINT as "quit now")
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, process_group=0)


def _announce_key(keys: KeyStore, config: Config) -> None:
    if config.API_KEYS:
        keys.register_from_env(config.API_KEYS)
    elif keys.count() == 0:
        _, key = keys.create("dev", "created by make run")
        if config.LOG_FORMAT == "json":  # log lines go to pipelines: the key goes to a file
            path = ROOT / "var" / "dev-key"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(key + "\n")
            tell(config, f"No API key was configured: created one for tenant 'dev', written "
                         f"to {path.relative_to(ROOT)} only")
        else:
            print(f"\nNo API key was configured: created one for tenant 'dev' (shown only "
                  f"now):\n  export GATEWAY_KEY={key}\n")
    else:  # kept hashed, so an earlier key cannot be shown again
        tell(config, f"\nAPI keys: {keys.count()} from earlier runs. Lost yours? `make key` "
                     "makes another.")


def _local_sealing_key() -> str:
    """The key that seals webhook secrets when GATEWAY_WEBHOOK_SECRET_KEY is not set: made once,
    kept in ./var (readable by this user only), never in Redis beside what it seals."""
    path = ROOT / "var" / "webhook-secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
        print(f"Webhook secrets are sealed with a key made for this machine: {path}")
    return path.read_text().strip()


def _install_stop_handlers() -> list[int]:
    """Ctrl-C, SIGTERM and a closed terminal stop the gateway: they reach this process alone
    (its children have process groups of their own), and `_stop_all` stops the others."""
    stop: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        stop.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)
    return stop


def _stop_all(children: list[Child], stop: list[int], config: Config,
              connection: Connection) -> None:
    """API and workers first, all at once, gracefully: a busy worker finishes its job or hands
    it back within its drain window, the API finishes its requests. Redis last. Another
    Ctrl-C stops them at once: a busy worker hands its job back, the rest is killed."""
    services = [c for c in children if c.name != "redis" and _alive(c)]
    signals = len(stop)
    for child in services:
        child.process.terminate()  # type: ignore[union-attr]
    terminated = time.monotonic()
    _wait(services, QUICK_EXIT_SECONDS, lambda: len(stop) > signals)
    left = [child for child in services if _alive(child)]
    if left and len(stop) == signals:
        say(f"stopping: waiting for {_what_is_left(left, config, connection)}; press Ctrl-C "
            "again to stop at once")
        _wait(left, config.WORKER_DRAIN_SECONDS + STOP_SECONDS, lambda: len(stop) > signals)
    left = [child for child in left if _alive(child)]
    if left:
        say("stopping at once: a running job goes back to the queue" if len(stop) > signals
            else f"{', '.join(child.name for child in left)} did not stop in time; stopping "
                 "at once")
        _stop_now(left, terminated)
    databases = [child for child in children if child.name == "redis" and _alive(child)]
    for child in databases:
        child.process.terminate()  # type: ignore[union-attr]
    _wait(databases, 10, lambda: False)
    _kill(databases)
    tell(config, "stopped")


def _alive(child: Child) -> bool:
    return child.process is not None and child.process.poll() is None


def _wait(children: list[Child], seconds: float, interrupted: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while any(_alive(c) for c in children) and time.monotonic() < deadline and not interrupted():
        time.sleep(0.1)


def _what_is_left(left: list[Child], config: Config, connection: Connection) -> str:
    """What the children still running are waiting for, in words."""
    busy = _busy_pids(connection)
    workers = [c for c in left if c.name.startswith("worker")]
    parts = []
    if busy is None:  # Redis does not say: a busy worker finishes its job first
        parts.append(f"{_count(len(workers), 'worker')} to stop (up to "
                     f"{config.WORKER_DRAIN_SECONDS:g} s for a running job)")
    else:
        finishing = [c for c in workers if c.process.pid in busy]  # type: ignore[union-attr]
        if finishing:
            parts.append(f"{_count(len(finishing), 'worker')} to finish "
                         f"{'its job' if len(finishing) == 1 else 'their jobs'} "
                         f"(up to {config.WORKER_DRAIN_SECONDS:g} s)")
        if len(workers) > len(finishing):
            parts.append(_count(len(workers) - len(finishing), "idle worker") + " to stop")
    if any(c.name == "api" for c in left):
        parts.append(f"the API to finish its requests (up to {STOP_SECONDS} s)")
    return " and ".join(parts)


def _busy_pids(connection: Connection) -> set[int] | None:
    """Pids of this host's workers that hold a running job; None when Redis does not answer."""
    try:
        holders = Leases(connection).holders()
    except redis.RedisError:
        return None
    busy = set()
    for name in holders:
        host, _, pid = name.rpartition(":")
        if host == socket.gethostname() and pid.isdigit():
            busy.add(int(pid))
    return busy


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _stop_now(left: list[Child], terminated: float) -> None:
    """A second SIGTERM makes a worker hand its job back at once (RQ ignores one within a
    second of the first); the API, and whatever is still there after a moment, is killed with
    its process group (its parse processes, a worker's simulation process)."""
    workers = [c for c in left if c.name != "api"]
    _kill([c for c in left if c.name == "api"])
    time.sleep(max(0.0, terminated + RQ_SIGNAL_GAP_SECONDS - time.monotonic()))
    for child in workers:
        if _alive(child):
            child.process.terminate()  # type: ignore[union-attr]
    _wait(workers, HAND_BACK_SECONDS, lambda: False)
    _kill(workers)


def _kill(children: list[Child]) -> None:
    for child in children:
        if child.process is None:
            continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()


if __name__ == "__main__":
    main()
