"""The worker processes (`python -m workers`): the RQ task, the executor that runs simulations,
and the runtimes behind it (`runtimes/local.py` on Aer, `runtimes/ibm/` on IBM Quantum)."""

import os

# Aer's OpenMP threads spin after each parallel region by default, burning a core while idle.
# A worker shares its machine with other workers, Redis and the API: on a 2-core machine the
# spinning tripled a tiny job's CPU time. Passive threads sleep instead. Set before anything
# loads libgomp (any import of qiskit_aer comes after this package's); an OMP_WAIT_POLICY
# given in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
