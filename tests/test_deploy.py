"""The Kubernetes manifests agree with the gateway they run: probes on its health routes, a
grace period above the workers' drain, memory that holds the memory model, disruption budgets
that select the pods. (`make lint` validates them against Kubernetes' schemas.)"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

MANIFESTS = ROOT / "deploy" / "kubernetes"
MIB = 2**20


def resources() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> resource, of every file kustomization.yaml lists."""
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    found = {}
    for name in listed:
        for document in yaml.safe_load_all((MANIFESTS / name).read_text()):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


def mebibytes(quantity: str) -> int:
    units = {"Mi": 1, "Gi": 1024}
    return int(quantity[:-2]) * units[quantity[-2:]]


def test_probes_are_the_gateways_own_checks() -> None:
    found = resources()
    api, worker = container(found[("Deployment", "api")]), container(found[("Deployment",
                                                                           "worker")])
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert worker["livenessProbe"]["exec"]["command"] == ["python", "-m", "workers.health"]
    assert worker["command"] == ["python", "-m", "workers"]


def test_a_stopping_worker_has_time_to_hand_its_job_back() -> None:
    found = resources()
    settings = found[("ConfigMap", "gateway-settings")]["data"]
    grace = found[("Deployment", "worker")]["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"]
    assert grace > float(settings["GATEWAY_WORKER_DRAIN_SECONDS"]) + 5


def test_memory_holds_the_memory_model() -> None:
    found = resources()
    settings = found[("ConfigMap", "gateway-settings")]["data"]
    worker = container(found[("Deployment", "worker")])["resources"]
    simulation = int(settings["GATEWAY_WORKER_MEMORY_BYTES"]) // MIB
    assert settings["GATEWAY_WORKERS_PER_HOST"] == "1"  # a pod is the worker's host
    assert mebibytes(worker["requests"]["memory"]) >= simulation + 256  # + the worker's own
    assert worker["limits"]["memory"] == worker["requests"]["memory"]
    api = container(found[("Deployment", "api")])["resources"]
    parsing = (int(settings["GATEWAY_WEB_PROCESSES"]) * int(settings["GATEWAY_PARSE_PROCESSES"])
               * int(settings["GATEWAY_PARSE_MEMORY_BYTES"]) // MIB)
    assert mebibytes(api["limits"]["memory"]) >= parsing + 256


def test_every_budget_selects_pods_of_a_deployment() -> None:
    found = resources()
    budgets = [r for (kind, _), r in found.items() if kind == "PodDisruptionBudget"]
    labels = [d["spec"]["template"]["metadata"]["labels"]
              for (kind, _), d in found.items() if kind == "Deployment"]
    assert len(budgets) == 2
    for budget in budgets:
        wanted = budget["spec"]["selector"]["matchLabels"].items()
        assert any(wanted <= pod.items() for pod in labels), budget["metadata"]["name"]


def test_secrets_hold_no_value() -> None:
    """The committed Secret is a shape to fill from a secret store, never a key."""
    secret = resources()[("Secret", "gateway-secrets")]["stringData"]
    assert {secret[name] for name in ("GATEWAY_API_KEYS", "QISKIT_IBM_TOKEN")} == {""}


def test_the_webhook_deliverer_runs_with_the_key_that_seals_secrets() -> None:
    found = resources()
    deliverer = container(found[("Deployment", "webhooks")])
    assert deliverer["command"] == ["python", "-m", "workers.webhooks"]
    assert {"secretRef": {"name": "gateway-secrets"}} in deliverer["envFrom"]
    assert "GATEWAY_WEBHOOK_SECRET_KEY" in found[("Secret", "gateway-secrets")]["stringData"]


def test_the_sentinel_overlay_drops_the_one_redis_and_names_the_sentinels(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import Config

    overlay = MANIFESTS / "sentinel"
    listed = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    assert listed["resources"] == [".."]
    patches = [document for patch in listed["patches"]
               for document in yaml.safe_load_all((overlay / patch["path"]).read_text())]
    deleted = {(p["kind"], p["metadata"]["name"]) for p in patches if p.get("$patch") == "delete"}
    assert deleted == {key for key in resources() if key[1] == "redis"} != set()
    (settings,) = [p for p in patches if p["kind"] == "ConfigMap"]
    for name, value in settings["data"].items():
        monkeypatch.setenv(name, value)
    config = Config()
    assert len(config.REDIS_SENTINELS) == 3 and config.REDIS_SENTINEL_MASTER == "mymaster"
