"""The gateway's jobs in IBM Quantum's shapes (what `RuntimeJobV2` and `_decode_job` read)."""

from __future__ import annotations

from typing import Any

from core.states import JobStatus

IBM_STATUS = {JobStatus.INITIALIZING: "Queued", JobStatus.QUEUED: "Queued",
              JobStatus.RUNNING: "Running", JobStatus.DONE: "Completed",
              JobStatus.ERROR: "Failed", JobStatus.CANCELLED: "Cancelled"}


def program_of(job: dict[str, Any]) -> str:
    """The program the client ran (an executor program runs as a gateway sampler job)."""
    return str(job.get("ibm_program") or job["program_id"])


def job_view(job: dict[str, Any]) -> dict[str, Any]:
    status = IBM_STATUS[JobStatus(job["status"])]
    state: dict[str, Any] = {"status": status}
    if job["status"] == JobStatus.ERROR and job.get("error_message"):
        state["reason"] = job["error_message"]
    options = job.get("options") or {}
    return {"id": job["id"], "backend": job["backend"], "status": status, "state": state,
            "program": {"id": program_of(job)}, "created": job.get("created"),
            "tags": list(job.get("tags") or []), "session_id": job.get("session_id"),
            "runtime": "", "private": False, "cost": options.get("max_execution_time"),
            "user_id": job["tenant"]}


def metrics_view(job: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """IBM's metrics: timestamps, usage (with the `status` and charge `usage()` reads)."""
    final = JobStatus(job["status"]).final
    usage = dict(metrics.get("usage") or {})
    quantum = usage.get("quantum_seconds") or 0
    usage.update({"status": "final" if final else "pending", "qpu_charge_time_seconds": quantum,
                  "quantum_seconds": quantum, "seconds": usage.get("seconds") or 0})
    stamps = metrics.get("timestamps") or {}
    return {"timestamps": {name: stamps.get(name) for name in ("created", "running", "finished")},
            "bss": {"seconds": quantum}, "usage": usage, "qiskit_version": "",
            "num_pubs": metrics.get("num_pubs"), "num_shots": metrics.get("num_shots"),
            "position_in_queue": None, "estimated_start_time": None,
            "estimated_completion_time": None}
