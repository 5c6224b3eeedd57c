"""`make run`: Redis (unless REDIS_URL is set), the API under gunicorn, RQ workers and the webhook
deliverer, in the foreground and supervised: a process that dies is started again, after a pause
that grows while it keeps dying (logged), and the others go on serving. Ctrl-C or SIGTERM stops
everything."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from scripts.local_redis import start_redis

ROOT = Path(__file__).resolve().parent.parent
STEADY_SECONDS = 60  # a process that ran this long before dying is restarted at once
MAX_PAUSE_SECONDS = 30
STOP_SECONDS = 10  # Ctrl-C: API and workers get this (workers: plus their drain) to stop


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

    def _launch(self) -> None:
        try:
            self.process, self.started = self.start(), time.monotonic()
        except Exception as exc:  # e.g. Redis did not come up: try again later
            self.failures += 1
            self.restart_at = time.monotonic() + min(MAX_PAUSE_SECONDS, 2 ** self.failures)
            say(f"{self.name} did not start ({exc}); trying again")


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} supervisor: {message}", flush=True)


def main() -> None:
    config = Config()
    env = dict(os.environ)
    children: list[Child] = []
    if not config.REDIS_URL_SET:
        redis_process, env["REDIS_URL"] = start_redis(ROOT / "var" / "redis")
        port = int(env["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        redis_child = Child("redis", lambda: start_redis(ROOT / "var" / "redis", port)[0])
        redis_child.process, redis_child.started = redis_process, time.monotonic()
        children.append(redis_child)
        (ROOT / "var" / "redis.url").write_text(env["REDIS_URL"])  # for `make key`
        print(f"Redis: {env['REDIS_URL']} (data in ./var/redis, AOF, noeviction)")
    stop = _install_stop_handlers()
    try:
        _announce_key(env.get("REDIS_URL", config.REDIS_URL), config)
        if not config.WEBHOOK_SECRET_KEYS:
            env["GATEWAY_WEBHOOK_SECRET_KEY"] = _local_sealing_key()
        children.append(Child("api", lambda: _python(env, "-m", "gunicorn", "-c",
                                                     str(ROOT / "gunicorn.conf.py"),
                                                     "app:create_app()")))
        children += [Child(f"worker-{n + 1}", lambda: _python(env, "-m", "workers"))
                     for n in range(config.WORKERS)]
        children.append(Child("webhooks", lambda: _python(env, "-m", "workers.webhooks")))
        print(f"\nQuantum jobs gateway on http://127.0.0.1:{config.PORT}  (docs: /docs)\n",
              flush=True)
        while not stop:
            for child in children:
                child.check()
            time.sleep(0.2)
    finally:
        _stop_all(children, stop, config.WORKER_DRAIN_SECONDS)


def _python(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env)


def _announce_key(redis_url: str, config: Config) -> None:
    keys = KeyStore(Connection.open(redis_url, config.REDIS_PREFIX))
    if config.API_KEYS:
        keys.register_from_env(config.API_KEYS)
    elif keys.count() == 0:
        _, key = keys.create("dev", "created by make run")
        print(f"\nNo API key was configured: created one for tenant 'dev' (shown only now):\n"
              f"  export GATEWAY_KEY={key}\n")
    else:  # kept hashed, so an earlier key cannot be shown again
        print(f"\nAPI keys: {keys.count()} from earlier runs. Lost yours? `make key` makes "
              "another.")


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
    stop: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        stop.append(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _stop_all(children: list[Child], stop: list[int], drain_seconds: float) -> None:
    """API and workers first, all at once (a busy worker finishes or hands back its job within
    its drain window); Redis last. A second Ctrl-C kills what is left at once."""
    def running(redis: bool) -> list[subprocess.Popen]:
        return [c.process for c in children if c.process and (c.name == "redis") == redis]

    signals = len(stop)
    for group, seconds in ((running(False), drain_seconds + STOP_SECONDS), (running(True), 10)):
        for process in group:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + seconds
        while any(p.poll() is None for p in group) and time.monotonic() < deadline \
                and len(stop) == signals:
            time.sleep(0.1)
        for process in group:
            if process.poll() is None:
                process.kill()
                process.wait()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
