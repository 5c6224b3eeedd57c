"""`make run`: Redis (unless REDIS_URL is set), the API under gunicorn and RQ workers, in the
foreground. Ctrl-C or SIGTERM stops everything it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.config import Config
from core.store.api_keys import KeyStore
from core.store.connection import Connection
from scripts.local_redis import start_redis

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    config = Config()
    children: list[subprocess.Popen] = []
    env = dict(os.environ)
    if not config.REDIS_URL_SET:
        redis_process, env["REDIS_URL"] = start_redis(ROOT / "var" / "redis")
        children.append(redis_process)
        (ROOT / "var" / "redis.url").write_text(env["REDIS_URL"])  # for `make key`
        print(f"Redis: {env['REDIS_URL']} (data in ./var/redis)")
    stop = _install_stop_handlers()
    try:
        _announce_key(env.get("REDIS_URL", config.REDIS_URL), config)
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "app:create_app()"], cwd=ROOT, env=env))
        for _ in range(config.WORKERS):
            children.append(subprocess.Popen([sys.executable, "-m", "workers"], cwd=ROOT, env=env))
        print(f"\nQuantum jobs gateway on http://127.0.0.1:{config.PORT}  (docs: /docs)\n",
              flush=True)
        while not stop and all(child.poll() is None for child in children):
            time.sleep(0.2)
    finally:
        _stop_all(children)


def _announce_key(redis_url: str, config: Config) -> None:
    keys = KeyStore(Connection.open(redis_url, config.REDIS_PREFIX))
    if config.API_KEYS:
        keys.register_from_env(config.API_KEYS)
    elif keys.count() == 0:
        _, key = keys.create("dev", "created by make run")
        print(f"\nNo API key was configured: created one for tenant 'dev' (shown only now):\n"
              f"  export GATEWAY_KEY={key}\n")


def _install_stop_handlers() -> list[int]:
    stop: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        stop.append(signum)

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _stop_all(children: list[subprocess.Popen]) -> None:
    """API and workers first, all at once; Redis (started first) last."""
    for group in (children[1:], children[:1]):
        for child in group:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 8
        for child in group:
            try:
                child.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
