"""Live events for the API processes: the hub that multiplexes listeners onto a few blocking
Redis reads (`hub.py`) and one listener's stream (`events.py`); tokens live in core/store."""
