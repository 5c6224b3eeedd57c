"""The webhook deliverer (`python -m workers.webhooks`): a small process of its own, without the
simulators, that sends the outbox's events (`deliverer.py`) over HTTP (`sending.py`)."""
