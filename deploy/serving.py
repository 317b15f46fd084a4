"""How the rendered pods fit the server: its address and metrics port, its TAGGER_* settings (each one a setting
of service/config.py with a value it takes), a drain that ends before the pod is killed, the model key from a
Secret, the model on a read-only volume, and the hardening the production namespace enforces."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath
from typing import Any

from deploy.pod import (
    container_ports,
    containers,
    environment,
    of_kind,
    pod_spec,
    port_of,
    setting,
    unknown_or_malformed,
)
from deploy.render import Manifest, name_of
from service.config import SettingsError

WILDCARDS = ("0.0.0.0", "::", "")
# Kubernetes' default when a pod spec sets none.
DEFAULT_TERMINATION_GRACE = 30


def servers(objects: Sequence[Manifest]) -> Iterator[tuple[Manifest, dict[str, Any], str, dict[str, str], list[str]]]:
    """Each Deployment's containers with the message prefix naming them, their variables and the problems found
    resolving those."""
    for deployment in of_kind(objects, "Deployment"):
        for container in containers(deployment):
            variables, unresolved = environment(container, objects)
            yield deployment, container, f"{name_of(deployment)} container {container['name']}", variables, unresolved


def settings(objects: Sequence[Manifest]) -> list[str]:
    """Every TAGGER_* variable a ConfigMap or a container's env sets is a setting of the server, with a value it
    takes."""
    found = []
    for configmap in of_kind(objects, "ConfigMap"):
        found += [f"{name_of(configmap)}: {message}" for message in unknown_or_malformed(configmap.get("data", {}))]
    for _, container, where, variables, unresolved in servers(objects):
        own = {variable["name"]: variables[variable["name"]] for variable in container.get("env", [])}
        found += [f"{where}: {message}" for message in [*unresolved, *unknown_or_malformed(own)]]
    return found


def listening(objects: Sequence[Manifest]) -> list[str]:
    """TAGGER_ADDRESS listens on every interface at the grpc container port, and TAGGER_METRICS_ADDRESS (when set)
    at the metrics container port that the prometheus.io/port annotation names."""
    found = []
    for deployment, container, where, variables, _ in servers(objects):
        ports = container_ports(container)
        host, port = port_of(setting(variables, "TAGGER_ADDRESS"))
        if host not in WILDCARDS:
            found.append(f"{where}: TAGGER_ADDRESS listens on {host}, which probes and other pods cannot reach")
        if port != ports.get("grpc"):
            found.append(f"{where}: TAGGER_ADDRESS port {port} is not the grpc container port {ports.get('grpc')}")
        metrics = setting(variables, "TAGGER_METRICS_ADDRESS")
        if not metrics:
            continue
        annotations = deployment["spec"]["template"].get("metadata", {}).get("annotations", {})
        if port_of(metrics)[1] != ports.get("metrics"):
            found.append(f"{where}: TAGGER_METRICS_ADDRESS {metrics} is not the metrics container port")
        if annotations.get("prometheus.io/port", str(port_of(metrics)[1])) != str(port_of(metrics)[1]):
            found.append(f"{where}: prometheus.io/port is not the TAGGER_METRICS_ADDRESS port")
    return found


def drain(objects: Sequence[Manifest]) -> list[str]:
    """The pod's grace period outlasts the server's own drain: TAGGER_DRAIN_SECONDS answering while NOT_SERVING, then
    TAGGER_GRACE_SECONDS for calls in flight. Otherwise the kubelet kills it with calls in flight."""
    found = []
    for deployment, _, where, variables, _ in servers(objects):
        period = pod_spec(deployment).get("terminationGracePeriodSeconds", DEFAULT_TERMINATION_GRACE)
        try:
            needed = setting(variables, "TAGGER_DRAIN_SECONDS") + setting(variables, "TAGGER_GRACE_SECONDS")
        except SettingsError:
            continue  # `settings` reports the malformed value
        if period <= needed:
            found.append(f"{where}: terminationGracePeriodSeconds {period} is not longer than drain + grace {needed:g}")
    return found


def model(objects: Sequence[Manifest]) -> list[str]:
    """TAGGER_MODEL_KEY comes from a Secret (never a ConfigMap or a literal), and TAGGER_MODEL_PATH lies on a volume
    mounted read-only."""
    found = [
        f"{name_of(c)}: holds TAGGER_MODEL_KEY"
        for c in of_kind(objects, "ConfigMap")
        if "TAGGER_MODEL_KEY" in c.get("data", {})
    ]
    for _, container, where, variables, _ in servers(objects):
        key = next((v for v in container.get("env", []) if v["name"] == "TAGGER_MODEL_KEY"), None)
        if key is None or "secretKeyRef" not in key.get("valueFrom", {}):
            found.append(f"{where}: TAGGER_MODEL_KEY is not taken from a Secret")
        path = PurePosixPath(str(setting(variables, "TAGGER_MODEL_PATH")))
        mounts = [m for m in container.get("volumeMounts", []) if path.is_relative_to(m["mountPath"])]
        if not any(m.get("readOnly") for m in mounts):
            found.append(f"{where}: TAGGER_MODEL_PATH {path} is not on a volume mounted read-only")
    return found


def hardening(objects: Sequence[Manifest]) -> list[str]:
    """Non-root, no privilege escalation, no capabilities, the runtime's seccomp profile, a read-only root
    filesystem, CPU and memory requests and limits, and a rolling update that stops no replica before its successor
    serves."""
    found = []
    for deployment, container, where, _, _ in servers(objects):
        pod, own = pod_spec(deployment).get("securityContext", {}), container.get("securityContext", {})
        resources = container.get("resources", {})
        held = {
            "runAsNonRoot": own.get("runAsNonRoot", pod.get("runAsNonRoot")) is True,
            "allowPrivilegeEscalation false": own.get("allowPrivilegeEscalation") is False,
            "readOnlyRootFilesystem": own.get("readOnlyRootFilesystem") is True,
            "capabilities drop ALL": "ALL" in own.get("capabilities", {}).get("drop", []),
            "seccompProfile RuntimeDefault": own.get("seccompProfile", pod.get("seccompProfile", {})).get("type")
            == "RuntimeDefault",
            "CPU and memory requests and limits": all(
                kind in resources.get(side, {}) for side in ("requests", "limits") for kind in ("cpu", "memory")
            ),
        }
        found += [f"{where}: not {rule}" for rule, kept in held.items() if not kept]
    for deployment in of_kind(objects, "Deployment"):
        strategy = deployment["spec"].get("strategy", {})
        if strategy.get("type", "RollingUpdate") != "RollingUpdate" or strategy.get("rollingUpdate", {}).get(
            "maxUnavailable"
        ) not in (0, "0%"):
            found.append(f"{name_of(deployment)}: not a rolling update with maxUnavailable 0")
    return found
