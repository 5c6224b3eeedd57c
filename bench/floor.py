"""The floor of figure 1: the least a Flask view can do to answer a job read.

One route, no auth, no schema: read one Redis hash, answer it as JSON. Run under the same gunicorn
settings (`gunicorn.conf.py`) and against the same Redis as the gateway, it is what any Flask
service on this machine can reach; the gateway's `GET /v1/jobs/{id}` is measured against it.
"""

from __future__ import annotations

from typing import Any

import redis
from flask import Flask

from core.config import Config


def create_app() -> Flask:
    config = Config()
    client = redis.Redis.from_url(config.REDIS_URL, decode_responses=True)
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> Any:
        return {"status": "ok"}

    @app.get("/floor/jobs/<job_id>")
    def read_job(job_id: str) -> Any:
        return client.hgetall(f"{config.REDIS_PREFIX}:job:{job_id}")

    return app
