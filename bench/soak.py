"""`python -m bench.soak [--minutes 3]`: jobs from several tenants while faults strike at random.

Its own Redis: a primary and a replica (AOF, fsync every second, as `make run` and compose run
it) watched by three sentinels (`down-after-milliseconds` 2000), which every process of the
gateway asks for the primary; one gunicorn with two processes, and two workers the soak keeps
supervised. Tenants submit jobs (with Idempotency-Key, retried through 503s and refused
connections) while, every 8-15 s, one fault strikes: a worker SIGKILLed or SIGTERMed, an API
process SIGKILLed, the primary SIGKILLed and restarted at once on its AOF (before the sentinels
act), the primary SIGKILLed for good (a failover: the replica is promoted, then the dead node
comes back as its replica), or the primary SIGSTOPped for 6 s (cut off: the sentinels fail
over meanwhile, and when it comes back it still takes writes until they demote it). Then the
soak waits for every job and reports: submitted (202 answered), completed (DONE, result and
whole event stream readable), lost (acknowledged, then gone: goal 0), run twice (more than one
RUNNING), stuck (not final at the end: goal 0), and the longest recovery (from a fault to the
first job submitted after it being DONE).
Not part of `make bench` or CI: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from core.store.api_keys import KeyStore
from core.store.connection import Connection, RedisAddress
from scripts.local_http import wait_for_http
from scripts.local_redis import free_port
from scripts.local_sentinels import MASTER, ReplicatedRedis

ROOT = Path(__file__).resolve().parent.parent
BELL = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; h q[0]; cx q[0], q[1]; '
        "c = measure q;")
TENANTS = 4
FAULTS = ("worker-kill", "worker-term", "api-kill", "redis-restart", "redis-failover",
          "redis-cut-off")
CUT_OFF_SECONDS = 6  # the sentinels' down-after (2 s), their vote and the promotion fit in it


def slow_circuit(qubits: int = 16, layers: int = 30) -> str:
    lines = ['OPENQASM 3.0; include "stdgates.inc";', f"qubit[{qubits}] q; bit[{qubits}] c;"]
    for layer in range(layers):
        lines += [f"rx({0.1 + 0.01 * i + 0.001 * layer:.4f}) q[{i}];" for i in range(qubits)]
        lines += [f"cx q[{i}], q[{i + 1}];" for i in range(qubits - 1)]
    return "\n".join([*lines, "c = measure q;"])


class Soak:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.redis = ReplicatedRedis(directory / "redis", persist=True)
        self.redis.watch()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "QISKIT"))}
        base.pop("REDIS_URL", None)  # the sentinels name the primary
        self.env = {**base, **self.redis.settings(), "GATEWAY_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(ROOT), "GATEWAY_WORKER_LEASE_SECONDS": "5",
                    "GATEWAY_WORKER_DRAIN_SECONDS": "3", "GATEWAY_JOB_MAX_ATTEMPTS": "4",
                    "GATEWAY_WEB_PROCESSES": "2", "GATEWAY_REDIS_TIMEOUT_SECONDS": "2"}
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.api = self._spawn(["-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                "app:create_app()"], "api", PORT=str(port))
        wait_for_http(f"{self.base}/healthz", self.api)
        self.workers = [self._spawn(["-m", "workers"], f"worker-{n}") for n in range(2)]
        self.address = RedisAddress("", [("127.0.0.1", port) for _, port in self.redis.sentinels],
                                    MASTER)
        keys = KeyStore(Connection.to(self.address))
        self.keys = [keys.create(f"tenant-{n}")[1] for n in range(TENANTS)]
        self.jobs: list[tuple[int, str]] = []  # (tenant, job id) of every 202
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.recoveries: list[tuple[str, float]] = []

    def _spawn(self, args: list[str], name: str, **env: str) -> subprocess.Popen:
        log = (self.dir / f"{name}.log").open("ab")
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**self.env, **env},
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def client(self, tenant: int) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30,
                            headers={"Authorization": f"Bearer {self.keys[tenant]}"})

    # -- load -------------------------------------------------------------------------------
    def submit(self, http: httpx.Client, body: dict, deadline: float) -> str | None:
        """POST with one Idempotency-Key, retried through outages; the job id once 202."""
        key = uuid.uuid4().hex
        while time.monotonic() < deadline:
            try:
                answer = http.post("/v1/jobs", json=body, headers={"Idempotency-Key": key})
                if answer.status_code == 202:
                    return str(answer.json()["id"])
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        return None

    def tenant_load(self, tenant: int) -> None:
        rng = random.Random(tenant)
        with self.client(tenant) as http:
            while not self.done.is_set():
                circuit = BELL if rng.random() < 0.6 else slow_circuit(16, rng.randint(10, 40))
                body = {"program_id": "sampler", "backend": "aer_simulator",
                        "pubs": [{"circuit": circuit, "shots": 100}] * rng.randint(1, 3)}
                job_id = self.submit(http, body, time.monotonic() + 60)
                if job_id:
                    with self.lock:
                        self.jobs.append((tenant, job_id))
                time.sleep(rng.uniform(0.2, 0.8))

    # -- faults -----------------------------------------------------------------------------
    def supervise(self) -> None:
        """What `make run` does for its workers: start a dead one again."""
        while not self.done.is_set():
            for n, worker in enumerate(self.workers):
                if worker.poll() is not None:
                    self.workers[n] = self._spawn(["-m", "workers"], f"worker-{n}")
            time.sleep(0.5)

    def strike(self, fault: str) -> None:
        if fault in ("worker-kill", "worker-term"):
            victim = random.choice(self.workers)
            if fault == "worker-kill":
                os.killpg(victim.pid, signal.SIGKILL)
            else:
                victim.terminate()
        elif fault == "api-kill":
            children = Path(f"/proc/{self.api.pid}/task/{self.api.pid}/children").read_text()
            if children.split():
                os.kill(int(random.choice(children.split())), signal.SIGKILL)
        elif fault == "redis-restart":  # back on its AOF before the sentinels act
            self.redis.start_node(self.redis.kill_primary())
        elif fault == "redis-failover":
            dead = self.redis.kill_primary()
            deadline = time.monotonic() + 60
            while not self.redis.promoted(dead) and time.monotonic() < deadline:
                time.sleep(0.2)
            self.redis.start_node(dead, replica_of=self.redis.primary_port())
        else:  # cut off: the sentinels demote it themselves when it is back
            cut_off = self.redis.signal_primary(signal.SIGSTOP)
            time.sleep(CUT_OFF_SECONDS)
            self.redis.nodes[cut_off].send_signal(signal.SIGCONT)

    def recovery(self) -> float:
        """From now until a fresh job submitted now is DONE (the service works again)."""
        started = time.monotonic()
        with self.client(0) as http:
            body = {"program_id": "sampler", "backend": "aer_simulator",
                    "pubs": [{"circuit": BELL, "shots": 10}]}
            job_id = self.submit(http, body, started + 300)
            while job_id and time.monotonic() - started < 300:
                try:
                    if http.get(f"/v1/jobs/{job_id}/status").json().get("status") == "DONE":
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                time.sleep(0.1)
        return time.monotonic() - started

    def inject(self, until: float) -> None:
        rng = random.Random(7)
        order: list[str] = []
        while time.monotonic() < until:
            time.sleep(rng.uniform(8, 15))
            if not order:  # every fault once per round, in a random order
                order = rng.sample(FAULTS, len(FAULTS))
            fault = order.pop()
            started = time.monotonic()
            self.strike(fault)
            took = time.monotonic() - started + self.recovery()
            self.recoveries.append((fault, took))
            print(f"  {fault}: recovered in {took:.1f} s", flush=True)

    # -- the tally -----------------------------------------------------------------------------
    def tally(self, wait_seconds: float) -> dict[str, object]:
        client = self.address.client(True, 5.0)
        deadline = time.monotonic() + wait_seconds
        counts = {"submitted": len(self.jobs), "completed": 0, "lost": 0, "run_twice": 0,
                  "stuck": 0, "failed": 0, "broken_streams": 0}
        for _tenant, job_id in self.jobs:
            status = client.hget(f"gw:job:{job_id}", "status")
            while status in ("QUEUED", "RUNNING") and time.monotonic() < deadline:
                time.sleep(0.2)
                status = client.hget(f"gw:job:{job_id}", "status")
            events = [(e["kind"], json.loads(e["data"]))
                      for _, e in client.xrange(f"gw:job:{job_id}:events")]
            statuses = [data["status"] for kind, data in events if kind == "status"]
            if status is None:
                counts["lost"] += 1
            elif status in ("QUEUED", "RUNNING"):
                counts["stuck"] += 1
            elif status != "DONE":
                counts["failed"] += 1
            elif client.exists(f"gw:job:{job_id}:result"):
                counts["completed"] += 1
            counts["run_twice"] += statuses.count("RUNNING") > 1
            whole = statuses[:1] == ["QUEUED"] and statuses[-1:] == [status]
            counts["broken_streams"] += bool(status) and not whole
        longest = max(self.recoveries, key=lambda r: r[1], default=("none", 0.0))
        return {**counts, "faults": len(self.recoveries),
                "longest_recovery": f"{longest[1]:.1f} s ({longest[0]})"}

    def close(self) -> None:
        for process in [self.api, *self.workers]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.api, *self.workers]:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateway-soak-") as directory:
        soak = Soak(Path(directory))
        try:
            wait_for_http(f"{soak.base}/readyz", soak.api, 180)
            until = time.monotonic() + args.minutes * 60
            threads = [threading.Thread(target=soak.tenant_load, args=(n,), daemon=True)
                       for n in range(TENANTS)]
            threads.append(threading.Thread(target=soak.supervise, daemon=True))
            for thread in threads:
                thread.start()
            soak.inject(until)
            soak.done.set()
            for thread in threads:
                thread.join(90)
            print(json.dumps(soak.tally(300), indent=2))
        finally:
            soak.close()


if __name__ == "__main__":
    main()
