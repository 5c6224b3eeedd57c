"""`python -m bench` (make bench): every benchmark, one after another."""

from bench import events

events.main()
