"""Live events for the API processes: the hub that multiplexes listeners onto a few blocking
Redis reads (`hub.py`), one listener's stream (`events.py`) and browsers' stream tokens."""
