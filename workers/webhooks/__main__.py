"""`python -m workers.webhooks`: the webhook deliverer. One feeder thread and
GATEWAY_WEBHOOK_SENDERS sender threads (`deliverer.py`); any number of these processes, on any
host, share the outbox and its turns through Redis.

SIGTERM or Ctrl-C: no new delivery; those in flight end within the webhook timeout, then the
process exits. SIGKILL: their leases run out and another deliverer sends them again.
"""

from __future__ import annotations

import logging
import signal
import threading

from core import logs, metrics
from core.config import Config
from core.store.connection import Connection
from core.webhooks import Webhooks
from workers.webhooks.deliverer import Deliverer

log = logging.getLogger("gateway.webhooks")


def main() -> None:
    config = Config()
    metrics.configure(config)
    logs.configure(config)
    deliverer = Deliverer(Webhooks.build(config, Connection.for_config(config)))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    senders = [threading.Thread(target=deliverer.send_forever, args=(stop,), name=f"sender-{n}")
               for n in range(max(1, config.WEBHOOK_SENDERS))]
    for sender in senders:
        sender.start()
    metrics.serve(config)
    log.info("webhook deliverer: %d senders", len(senders))
    deliverer.feed(stop)  # until a stop
    deliverer.wake_senders(len(senders))
    for sender in senders:
        sender.join(config.WEBHOOK_TIMEOUT_SECONDS + 5)


if __name__ == "__main__":
    main()
