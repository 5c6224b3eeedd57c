"""Request bodies shown in `openapi.yaml` and the README, each one a job that runs as written
(`tests/test_examples.py` submits every one and waits for its result)."""

from __future__ import annotations

from typing import Any

BELL = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; bit[2] c; '
        "h q[0]; cx q[0], q[1]; c = measure q;")
ROTATION = ('OPENQASM 3.0; include "stdgates.inc"; input float theta; qubit[1] q; bit[1] c; '
            "ry(theta) q[0]; c[0] = measure q[0];")
GHZ3_UNMEASURED = ('OPENQASM 3.0; include "stdgates.inc"; qubit[3] q; '
                   "h q[0]; cx q[0], q[1]; cx q[1], q[2];")
BELL_UNMEASURED = ('OPENQASM 3.0; include "stdgates.inc"; qubit[2] q; '
                   "h q[0]; cx q[0], q[1];")

SUBMIT_EXAMPLES: dict[str, dict[str, Any]] = {
    "sampler": {
        "summary": "A Bell pair on a noisy replica of IBM's Manila, 1024 shots",
        "value": {"program_id": "sampler", "backend": "fake_manila",
                  "pubs": [{"circuit": BELL, "shots": 1024}]},
    },
    "sweep": {
        "summary": "A parameter sweep: one result per value of theta (C order over `shape`)",
        "value": {"program_id": "sampler", "backend": "aer_simulator",
                  "pubs": [{"circuit": ROTATION,
                            "parameter_values": {"theta": [0, 1.5708, 3.1416]},
                            "shots": 1000}]},
    },
    "estimator": {
        "summary": "Several observables at once (Qiskit's order: in IZ, Z is on qubit 0)",
        "value": {"program_id": "estimator", "backend": "fake_manila",
                  "pubs": [{"circuit": BELL_UNMEASURED,
                            "observables": ["ZZ", "XX", "IZ", {"ZZ": 0.5, "XX": 0.5}],
                            "precision": 0.01}]},
    },
    "mitigation": {
        "summary": "Error mitigation on a noisy replica: resilience_level 2 (TREX, gate "
                   "twirling, ZNE), as on IBM hardware",
        "value": {"program_id": "estimator", "backend": "fake_manila",
                  "pubs": [{"circuit": GHZ3_UNMEASURED, "observables": ["ZZI", "IZZ"]}],
                  "options": {"resilience_level": 2, "default_precision": 0.02,
                              "twirling": {"num_randomizations": 16}}},
    },
    "options_and_tags": {
        "summary": "Options (a seed makes the counts repeatable) and tags to find it by",
        "value": {"program_id": "sampler", "backend": "aer_simulator",
                  "pubs": [{"circuit": BELL, "shots": 100}],
                  "options": {"seed": 42, "optimization_level": 1, "max_execution_time": 60},
                  "tags": ["bell", "demo"]},
    },
}
TAGS_EXAMPLES: dict[str, dict[str, Any]] = {
    "tags": {"summary": "The job's tags, all of them (an object, not a bare list)",
             "value": {"tags": ["bell", "demo"]}},
}
IMPORT_EXAMPLES: dict[str, dict[str, Any]] = {
    "import": {"summary": "A job sent to IBM Quantum elsewhere, by its IBM job id",
               "value": {"runtime_job_id": "d1a2b3c4e5f6a7b8c9d0"}},
}
WEBHOOK_EXAMPLES: dict[str, dict[str, Any]] = {
    "webhook": {"summary": "Tell a CI pipeline when its jobs end",
                "value": {"url": "https://ci.example.com/hooks/quantum",
                          "events": ["job.done", "job.error", "job.cancelled"],
                          "description": "nightly calibration pipeline"}},
}
