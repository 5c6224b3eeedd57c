"""What the API processes and the workers both import: no Flask, no simulator.

Job states, settings, domain errors, circuits, the backend catalog, keys, results, and the
Redis data model (`core.store`)."""
