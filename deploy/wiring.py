"""How the rendered objects fit each other: probes and the container port, the Services', the disruption budget's
and the autoscaler's selectors and targets, and the Deployment they mean. Each check returns one message per
problem."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from deploy.pod import container_ports, containers, of_kind, pod_labels, pod_spec
from deploy.render import Manifest, name_of
from service.api.server import SERVICE_NAME

# The health names the server reports (service/api/server.py set_serving): "" is the server as a whole.
HEALTH_NAMES = {"startupProbe": (SERVICE_NAME,), "readinessProbe": (SERVICE_NAME,), "livenessProbe": ("", SERVICE_NAME)}


def probe_ports(objects: Sequence[Manifest]) -> list[str]:
    """Every probe is a gRPC probe on the port the server listens on, asking for a health name the server reports."""
    found = []
    for deployment in of_kind(objects, "Deployment"):
        for container in containers(deployment):
            where, port = f"{name_of(deployment)} container {container['name']}", container_ports(container).get("grpc")
            if port is None:
                found.append(f"{where}: no container port named grpc")
                continue
            for kind, names in HEALTH_NAMES.items():
                probe = container.get(kind, {}).get("grpc")
                if probe is None:
                    found.append(f"{where}: {kind} is not a gRPC probe")
                elif probe.get("port") != port:
                    found.append(f"{where}: {kind} probes port {probe.get('port')}, the server's port is {port}")
                elif probe.get("service", "") not in names:
                    found.append(f"{where}: {kind} asks for health of {probe.get('service')!r}, not one of {names}")
    return found


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions, or a Service's plain map) selects `labels`."""
    plain = selector.get("matchLabels", {}) if "matchLabels" in selector or "matchExpressions" in selector else selector
    if not plain and not selector.get("matchExpressions"):
        return False  # an empty selector: a Service selects nothing by it, and we never mean "everything"
    if any(labels.get(key) != value for key, value in plain.items()):
        return False
    tests = {
        "In": lambda key, values: labels.get(key) in values,
        "NotIn": lambda key, values: labels.get(key) not in values,
        "Exists": lambda key, values: key in labels,
        "DoesNotExist": lambda key, values: key not in labels,
    }
    return all(tests[e["operator"]](e["key"], e.get("values", [])) for e in selector.get("matchExpressions", []))


def selected(selector: dict[str, Any], objects: Sequence[Manifest]) -> list[Manifest]:
    """The Deployments whose pods `selector` selects."""
    return [deployment for deployment in of_kind(objects, "Deployment") if matches(selector, pod_labels(deployment))]


def selectors(objects: Sequence[Manifest]) -> list[str]:
    """A Deployment selects its own pods and no other Deployment's; every Service and PodDisruptionBudget selects a
    Deployment's pods; a Service's target ports are ports of those pods; topology spread counts the Deployment's own
    pods."""
    found = []
    for deployment in of_kind(objects, "Deployment"):
        if not matches(deployment["spec"].get("selector", {}), pod_labels(deployment)):
            found.append(f"{name_of(deployment)}: its selector does not select its own pods")
        for other in of_kind(objects, "Deployment"):
            if other is not deployment and matches(deployment["spec"].get("selector", {}), pod_labels(other)):
                found.append(f"{name_of(deployment)}: its selector selects the pods of {name_of(other)} too")
        for spread in pod_spec(deployment).get("topologySpreadConstraints", []):
            if not matches(spread.get("labelSelector", {}), pod_labels(deployment)):
                found.append(f"{name_of(deployment)}: a topology spread constraint counts pods it does not run")
    for manifest in [*of_kind(objects, "Service"), *of_kind(objects, "PodDisruptionBudget")]:
        selector = manifest["spec"].get("selector", {})
        targets = selected(selector, objects)
        if not targets:
            found.append(f"{name_of(manifest)}: selector {selector} matches no Deployment's pods")
        for port in manifest["spec"].get("ports", []) if targets else []:
            if target_port(port, targets[0]) is None:
                found.append(f"{name_of(manifest)}: targetPort {port.get('targetPort')} is no port of the pods")
    return found


def target_port(port: dict[str, Any], deployment: Manifest) -> int | None:
    """The container port a Service port sends to (by name or number), or None when the pods have no such port."""
    target = port.get("targetPort", port.get("port"))
    ports = {
        name: number for container in containers(deployment) for name, number in container_ports(container).items()
    }
    return ports.get(target) if isinstance(target, str) else target if target in ports.values() else None


def autoscaler(objects: Sequence[Manifest]) -> list[str]:
    """Every HorizontalPodAutoscaler scales a rendered Deployment whose replicas are within its range, and the
    containers request the CPU its utilisation target is a share of."""
    found = []
    deployments = {deployment["metadata"]["name"]: deployment for deployment in of_kind(objects, "Deployment")}
    for hpa in of_kind(objects, "HorizontalPodAutoscaler"):
        spec, ref = hpa["spec"], hpa["spec"].get("scaleTargetRef", {})
        target = (
            deployments.get(ref.get("name"))
            if (ref.get("kind"), ref.get("apiVersion")) == ("Deployment", "apps/v1")
            else None
        )
        if target is None:
            found.append(
                f"{name_of(hpa)}: scaleTargetRef {ref.get('kind')}/{ref.get('name')} is no rendered Deployment"
            )
            continue
        low, high, replicas = spec.get("minReplicas", 1), spec["maxReplicas"], target["spec"].get("replicas", 1)
        if not low <= replicas <= high:
            found.append(f"{name_of(hpa)}: {name_of(target)} runs {replicas} replicas, outside [{low}, {high}]")
        if any("cpu" not in c.get("resources", {}).get("requests", {}) for c in containers(target)):
            found.append(f"{name_of(hpa)}: {name_of(target)} requests no CPU, which utilisation is a share of")
    return found


def services(objects: Sequence[Manifest]) -> list[str]:
    """A headless Service gives in-cluster clients every ready pod at the container port (they dial pod addresses,
    so the Service's port must be that port); a ClusterIP Service declares gRPC for a proxy or mesh."""
    found, headless, proxied = [], False, False
    for service in of_kind(objects, "Service"):
        spec, targets = service["spec"], selected(service["spec"].get("selector", {}), objects)
        grpc = [
            p
            for p in spec.get("ports", [])
            if p.get("name", "").startswith("grpc") or "h2c" in p.get("appProtocol", "")
        ]
        if spec.get("clusterIP") == "None":
            headless = True
            if spec.get("publishNotReadyAddresses"):
                found.append(f"{name_of(service)}: publishes pods that are not ready to clients")
            for port in spec.get("ports", []) if targets else []:
                if port["port"] != target_port(port, targets[0]):
                    found.append(f"{name_of(service)}: port {port['port']} is not the container port clients reach")
        elif grpc:
            proxied = True
    if not headless:
        found.append("no headless Service (clusterIP: None) for clients that balance per call over the pods")
    if not proxied:
        found.append("no ClusterIP Service with a grpc port (name grpc or appProtocol kubernetes.io/h2c) for a proxy")
    return found
