"""What the gateway needs of the Redis it is given, checked at start (and shown by /readyz).

Leases, idempotency keys, records and results must never be evicted, and a restart must not
lose the jobs: so `maxmemory-policy noeviction` and persistence (AOF, or at least RDB snapshots).
A Redis that does not say (CONFIG disabled, as on some managed services) is reported as unknown.
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger("gateway")


def redis_warnings(client: redis.Redis, replicas: int = 0) -> list[str]:
    """What is wrong with the Redis' configuration for the gateway ([] when all is well);
    `replicas`: how many the writes wait for (GATEWAY_REDIS_WAIT_REPLICAS)."""
    try:
        persistence = client.info("persistence")
        memory = client.info("memory")
        replication = client.info("replication") if replicas else {}
    except redis.RedisError as exc:
        return [f"could not check Redis' configuration: {type(exc).__name__}"]
    warnings = []
    connected = int(replication.get("connected_slaves", 0))
    if connected < replicas:
        warnings.append(f"Redis' primary has {connected} connected replica(s) and writes wait "
                        f"for {replicas} (GATEWAY_REDIS_WAIT_REPLICAS): each waits "
                        "GATEWAY_REDIS_WAIT_MS, then stands on the primary alone (a failover "
                        "now could lose it)")
    policy = memory.get("maxmemory_policy", "unknown")
    if policy != "noeviction":
        warnings.append(f"Redis' maxmemory-policy is {policy!r}: under memory pressure it "
                        "evicts keys (jobs, results, leases); set it to 'noeviction'")
    if not int(persistence.get("aof_enabled", 0)) and not _snapshots(client):
        warnings.append("Redis persists nothing (no AOF, no RDB snapshots): a restart loses "
                        "every job; run it with --appendonly yes")
    return warnings


def _snapshots(client: redis.Redis) -> bool:
    try:
        save = client.config_get("save").get("save", "")
    except redis.RedisError:  # CONFIG refused: assume the operator configured snapshots
        return True
    return bool(str(save).strip())


def check_redis(client: redis.Redis, replicas: int = 0) -> list[str]:
    """Log loudly what is wrong with the Redis given; the warnings."""
    warnings = redis_warnings(client, replicas)
    for warning in warnings:
        log.warning("REDIS CONFIGURATION: %s", warning)
    return warnings
