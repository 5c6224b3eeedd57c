"""`python -m workers.health`: the container health check of a worker. Healthy while its sweeper
thread made a pass within the last minute (it does every GATEWAY_WORKER_LEASE_SECONDS / 2)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# touched by the sweeper at every pass (kept free of heavy imports: this runs every 30 s)
ALIVE_FILE = Path(tempfile.gettempdir()) / "gateway-worker-alive"

STALE_SECONDS = 60


def main() -> int:
    try:
        age = time.time() - ALIVE_FILE.stat().st_mtime
    except OSError:
        print("no sweeper pass yet")
        return 1
    print(f"last sweeper pass {age:.0f} s ago")
    return 0 if age < STALE_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
