"""RQ tasks, runtime adapters and the Redis data model: no Flask here."""
