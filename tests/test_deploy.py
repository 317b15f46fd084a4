"""The Kubernetes files (deploy/kubernetes): every overlay renders with kustomize, every object passes the API's
schemas (strict) and the checks the schemas cannot make (deploy/checks.py); each deliberately broken overlay under
tests/broken_overlays and each broken variant of the rendered production objects fails the check meant for it."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.checks import problems
from deploy.pod import SETTINGS, of_kind
from deploy.render import Manifest, kustomize_command, overlays, render, schema_problems
from deploy.wiring import selected
from service.api.server import SERVICE_NAME

ROOT = Path(__file__).parents[1]
BROKEN = ROOT / "tests" / "broken_overlays"
pytestmark = pytest.mark.skipif(
    kustomize_command() is None, reason="neither kubectl nor kustomize is installed: the overlays cannot be rendered"
)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {overlay.name: render(overlay) for overlay in overlays()}


@pytest.fixture
def production(rendered: dict[str, list[Manifest]]) -> list[Manifest]:
    """A copy of the rendered production objects, for a test to break."""
    return copy.deepcopy(rendered["production"])


def one(objects: list[Manifest], kind: str, name: str = "") -> Manifest:
    found = [m for m in of_kind(objects, kind) if not name or m["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name)
    return found[0]


def server(objects: list[Manifest]) -> Any:
    """The server's container (itself, not a copy)."""
    return one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def settings(objects: list[Manifest]) -> Any:
    return one(objects, "ConfigMap")["data"]


def test_every_overlay_renders_and_passes_the_schemas_and_the_checks(rendered):
    assert set(rendered) == {"canary", "dev", "production"}
    for objects in rendered.values():
        assert schema_problems(objects) == []
        assert problems(objects) == []


def test_production_runs_three_spread_hardened_replicas_probed_over_grpc(rendered):
    objects = rendered["production"]
    deployment = one(objects, "Deployment", "tagger")
    pod, container = deployment["spec"]["template"]["spec"], server(objects)
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} >= {"kubernetes.io/hostname"}
    assert container["readinessProbe"]["grpc"] == {"port": 50051, "service": SERVICE_NAME}
    assert container["startupProbe"]["grpc"]["service"] == SERVICE_NAME
    assert container["envFrom"][0]["configMapRef"]["name"] == one(objects, "ConfigMap")["metadata"]["name"]
    assert one(objects, "Service", "tagger-headless")["spec"]["clusterIP"] == "None"
    assert one(objects, "Service", "tagger")["spec"]["ports"][0]["appProtocol"] == "kubernetes.io/h2c"
    assert one(objects, "HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"
    assert one(objects, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert one(objects, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert not of_kind(objects, "Secret")  # the key is created by hand, never committed


def test_the_canary_runs_beside_production_in_both_services_but_not_in_the_stable_one(rendered):
    objects = rendered["canary"]
    stable, canary = one(objects, "Deployment", "tagger"), one(objects, "Deployment", "tagger-canary")
    assert canary["spec"]["replicas"] == 1 and canary["spec"]["selector"]["matchLabels"]["track"] == "canary"
    pod = canary["spec"]["template"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == "tagger-models-canary"
    assert pod["containers"][0]["image"] == stable["spec"]["template"]["spec"]["containers"][0]["image"]
    assert one(objects, "PersistentVolumeClaim", "tagger-models-canary")["spec"]["accessModes"] == ["ReadOnlyMany"]
    for name, expected in (("tagger-headless", 2), ("tagger", 2), ("tagger-stable-headless", 1)):
        assert len(selected(one(objects, "Service", name)["spec"]["selector"], objects)) == expected, name
    assert one(objects, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == "tagger"


def test_a_deployment_whose_selector_takes_the_canary_pods_too_fails(rendered):
    objects = copy.deepcopy(rendered["canary"])
    del one(objects, "Deployment", "tagger")["spec"]["selector"]["matchLabels"]["track"]
    assert problems(objects) == ["Deployment/tagger: its selector selects the pods of Deployment/tagger-canary too"]


# Each broken overlay (tests/broken_overlays/<folder>) and the whole report the checks make of it.
BROKEN_REPORTS = {
    "probe-on-wrong-port": [
        "Deployment/tagger container tagger: readinessProbe probes port 50052, the server's port is 50051"
    ],
    "selector-matches-nothing": [
        "Service/tagger-headless: selector {'app.kubernetes.io/name': 'tagger-api'} matches no Deployment's pods"
    ],
    "autoscaler-aims-elsewhere": [
        "HorizontalPodAutoscaler/tagger: scaleTargetRef Deployment/tagger-server is no rendered Deployment"
    ],
    "grace-shorter-than-drain": [
        "Deployment/tagger container tagger: terminationGracePeriodSeconds 12 is not longer than drain + grace 15"
    ],
    "misspelt-setting": ["TAGGER_GRACE_SECOND is not a setting of the server (service/config.py)"],
    "misspelt-field": [
        "Deployment/tagger: spec.template.spec.containers.0: Additional properties are not allowed "
        "('readinesProbe' was unexpected) (Kubernetes 1.30 schema)",
        "Deployment/tagger: spec.template.spec.containers.0: Additional properties are not allowed "
        "('readinesProbe' was unexpected) (Kubernetes 1.37 schema)",
        "Deployment/tagger container tagger: readinessProbe is not a gRPC probe",
    ],
}


def test_every_broken_overlay_has_its_expected_report():
    assert sorted(path.name for path in BROKEN.iterdir() if path.is_dir()) == sorted(BROKEN_REPORTS)


@pytest.mark.parametrize("case", sorted(BROKEN_REPORTS))
def test_a_broken_overlay_fails_the_check_meant_for_it_and_no_other(case):
    objects = render(BROKEN / case)
    report = schema_problems(objects) + problems(objects)
    if case == "misspelt-setting":  # the ConfigMap's name carries its content's hash
        report = [message.split(": ", 1)[1] for message in report]
    assert report == BROKEN_REPORTS[case]


def test_check_deploy_exits_1_and_names_the_mistake_for_a_broken_overlay_and_0_for_the_real_ones():
    broken = _check_deploy(str(BROKEN / "probe-on-wrong-port"))
    assert broken.returncode == 1
    assert "readinessProbe probes port 50052, the server's port is 50051" in broken.stdout
    real = _check_deploy()
    assert real.returncode == 0, real.stdout + real.stderr
    assert real.stdout.count(": ok") == len(overlays())


def test_check_deploy_says_it_is_skipped_where_no_kustomize_is_installed(tmp_path):
    done = _check_deploy(PATH=str(tmp_path))  # a PATH with neither kubectl nor kustomize on it
    assert done.returncode == 0
    assert "skipped: neither kubectl nor kustomize is installed" in done.stdout


def _check_deploy(*folders: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    command = [sys.executable, "-m", "deploy", *folders]
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False)


def _set(objects: list[Manifest], path: str, value: object) -> None:
    """Set a field of the server's container (`container.<path>`) or pod (`pod.<path>`), dotted."""
    where, *keys = path.split(".")
    target = server(objects) if where == "container" else one(objects, "Deployment")["spec"]["template"]["spec"]
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def _env(objects: list[Manifest], name: str, value: str | None) -> None:
    """Set (or with None, remove) a variable of the settings ConfigMap."""
    data = settings(objects)
    if value is None:
        data.pop(name, None)
    else:
        data[name] = value


def _drain_by_defaults(objects: list[Manifest], period: int) -> None:
    """Leave drain and grace to the settings' defaults (1 + 10 s) and give the pod `period` seconds."""
    _env(objects, "TAGGER_DRAIN_SECONDS", None)
    _env(objects, "TAGGER_GRACE_SECONDS", None)
    _set(objects, "pod.terminationGracePeriodSeconds", period)


# A broken variant of the rendered production objects, and what the checks must say of it.
Breakage = Callable[[list[Manifest]], object]
BREAKAGES: dict[str, tuple[Breakage, str]] = {
    "liveness over tcp": (
        lambda o: _set(o, "container.livenessProbe", {"tcpSocket": {"port": 50051}}),
        "livenessProbe is not a gRPC probe",
    ),
    "startup probe on the metrics port": (
        lambda o: _set(o, "container.startupProbe.grpc.port", 9090),
        "startupProbe probes port 9090, the server's port is 50051",
    ),
    "readiness of a service the server does not report": (
        lambda o: _set(o, "container.readinessProbe.grpc.service", "tagger.v1.Tagger"),
        "readinessProbe asks for health of 'tagger.v1.Tagger'",
    ),
    "listening on loopback": (
        lambda o: _env(o, "TAGGER_ADDRESS", "127.0.0.1:50051"),
        "TAGGER_ADDRESS listens on 127.0.0.1, which probes and other pods cannot reach",
    ),
    "listening on another port": (
        lambda o: _env(o, "TAGGER_ADDRESS", "0.0.0.0:8080"),
        "TAGGER_ADDRESS port 8080 is not the grpc container port 50051",
    ),
    "metrics on an undeclared port": (
        lambda o: _env(o, "TAGGER_METRICS_ADDRESS", "0.0.0.0:9100"),
        "TAGGER_METRICS_ADDRESS 0.0.0.0:9100 is not the metrics container port",
    ),
    "a malformed setting": (lambda o: _env(o, "TAGGER_WORKERS", "two"), "TAGGER_WORKERS must be an integer, got 'two'"),
    "an unknown setting in env": (
        lambda o: server(o)["env"].append({"name": "TAGGER_THREADS", "value": "4"}),
        "container tagger: TAGGER_THREADS is not a setting of the server",
    ),
    "a long drain": (
        lambda o: _env(o, "TAGGER_DRAIN_SECONDS", "25"),
        "terminationGracePeriodSeconds 30 is not longer than drain + grace 35",
    ),
    "the defaults' drain, no longer than the grace period": (
        lambda o: _drain_by_defaults(o, 11),
        "terminationGracePeriodSeconds 11 is not longer than drain + grace 11",
    ),
    "the model key in the ConfigMap": (
        lambda o: _env(o, "TAGGER_MODEL_KEY", "k"),
        "holds TAGGER_MODEL_KEY",
    ),
    "the model key as a literal": (
        lambda o: server(o)["env"].__setitem__(1, {"name": "TAGGER_MODEL_KEY", "value": "k"}),
        "TAGGER_MODEL_KEY is not taken from a Secret",
    ),
    "the model on a writable mount": (
        lambda o: server(o)["volumeMounts"][0].__setitem__("readOnly", False),
        "TAGGER_MODEL_PATH /models/tagger.joblib is not on a volume mounted read-only",
    ),
    "an envFrom ConfigMap that is not rendered": (
        lambda o: _set(o, "container.envFrom", [{"configMapRef": {"name": "tagger-config"}}]),
        "envFrom names ConfigMap tagger-config, which is not rendered",
    ),
    "a writable root": (
        lambda o: _set(o, "container.securityContext.readOnlyRootFilesystem", False),
        "not readOnlyRootFilesystem",
    ),
    "capabilities kept": (lambda o: _set(o, "container.securityContext.capabilities", {}), "not capabilities drop ALL"),
    "no seccomp profile": (
        lambda o: _set(o, "pod.securityContext.seccompProfile", {}),
        "not seccompProfile RuntimeDefault",
    ),
    "no CPU limit": (
        lambda o: server(o)["resources"]["limits"].pop("cpu"),
        "not CPU and memory requests and limits",
    ),
    "a roll that stops a replica first": (
        lambda o: one(o, "Deployment")["spec"]["strategy"]["rollingUpdate"].__setitem__("maxUnavailable", 1),
        "Deployment/tagger: not a rolling update with maxUnavailable 0",
    ),
    "a Deployment selector that misses its pods": (
        lambda o: one(o, "Deployment")["spec"]["selector"]["matchLabels"].__setitem__("track", "canary"),
        "Deployment/tagger: its selector does not select its own pods",
    ),
    "a spread constraint counting other pods": (
        lambda o: _set(o, "pod.topologySpreadConstraints", [{"labelSelector": {"matchLabels": {"app": "x"}}}]),
        "a topology spread constraint counts pods it does not run",
    ),
    "a budget over other pods": (
        lambda o: one(o, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].__setitem__(
            "app.kubernetes.io/name", "x"
        ),
        "PodDisruptionBudget/tagger: selector",
    ),
    "a budget by an expression that excludes the pods": (
        lambda o: one(o, "PodDisruptionBudget")["spec"]["selector"].__setitem__(
            "matchExpressions", [{"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["server"]}]
        ),
        "PodDisruptionBudget/tagger: selector",
    ),
    "a Service sending to a port the pods lack": (
        lambda o: one(o, "Service", "tagger")["spec"]["ports"][0].__setitem__("targetPort", "http"),
        "Service/tagger: targetPort http is no port of the pods",
    ),
    "no headless Service": (
        lambda o: one(o, "Service", "tagger-headless")["spec"].pop("clusterIP"),
        "no headless Service (clusterIP: None)",
    ),
    "a headless Service on another port": (
        lambda o: one(o, "Service", "tagger-headless")["spec"]["ports"][0].__setitem__("port", 80),
        "Service/tagger-headless: port 80 is not the container port clients reach",
    ),
    "a headless Service publishing unready pods": (
        lambda o: one(o, "Service", "tagger-headless")["spec"].__setitem__("publishNotReadyAddresses", True),
        "Service/tagger-headless: publishes pods that are not ready to clients",
    ),
    "no Service declaring gRPC for a proxy": (
        lambda o: one(o, "Service", "tagger")["spec"]["ports"][0].update(name="tcp", appProtocol="tcp"),
        "no ClusterIP Service with a grpc port",
    ),
    "an autoscaler of a StatefulSet": (
        lambda o: one(o, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"].__setitem__("kind", "StatefulSet"),
        "scaleTargetRef StatefulSet/tagger is no rendered Deployment",
    ),
    "an autoscaler whose minimum exceeds the replicas": (
        lambda o: one(o, "HorizontalPodAutoscaler")["spec"].__setitem__("minReplicas", 4),
        "Deployment/tagger runs 3 replicas, outside [4, 12]",
    ),
    "CPU utilisation without a CPU request": (
        lambda o: server(o)["resources"]["requests"].pop("cpu"),
        "Deployment/tagger requests no CPU, which utilisation is a share of",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_a_broken_variant_of_production_fails_the_check_meant_for_it(production, case):
    breakage, expected = BREAKAGES[case]
    assert problems(production) == []
    breakage(production)
    report = problems(production)
    assert any(expected in message for message in report), report


def test_every_setting_the_files_set_is_one_the_server_reads(rendered):
    for objects in rendered.values():
        names = set(settings(objects))
        for deployment in of_kind(objects, "Deployment"):
            names |= {v["name"] for c in deployment["spec"]["template"]["spec"]["containers"] for v in c["env"]}
        assert names <= set(SETTINGS), names - set(SETTINGS)
