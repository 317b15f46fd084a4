"""What a rendered Deployment gives its server container: its ports, its TAGGER_* variables (from ConfigMaps and
env) and the settings they make, read with the server's own definitions (service/config.py)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from deploy.render import Manifest
from service.config import PREFIX, Settings, SettingsError
from service.environment import parse

SETTINGS = {PREFIX + field.name.upper(): field for field in dataclasses.fields(Settings)}
_TYPES = typing.get_type_hints(Settings)
# A variable whose value comes from a Secret or the downward API: set, but not known here.
FROM_ELSEWHERE = "<set at run time>"


def of_kind(objects: Sequence[Manifest], kind: str) -> list[Manifest]:
    return [manifest for manifest in objects if manifest.get("kind") == kind]


def pod_spec(deployment: Manifest) -> dict[str, Any]:
    return dict(deployment.get("spec", {}).get("template", {}).get("spec", {}))


def pod_labels(deployment: Manifest) -> dict[str, str]:
    return dict(deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}))


def containers(deployment: Manifest) -> Iterator[dict[str, Any]]:
    yield from pod_spec(deployment).get("containers", [])


def container_ports(container: dict[str, Any]) -> dict[str, int]:
    """The container's ports by name (unnamed ports by their number as text)."""
    return {
        str(port.get("name", port["containerPort"])): int(port["containerPort"]) for port in container.get("ports", [])
    }


def environment(container: dict[str, Any], objects: Sequence[Manifest]) -> tuple[dict[str, str], list[str]]:
    """The variables `container` is given, envFrom ConfigMaps first, then env (values from a Secret or the downward
    API as FROM_ELSEWHERE), and the problems found resolving them (a ConfigMap that is not rendered)."""
    configmaps = {manifest["metadata"]["name"]: manifest for manifest in of_kind(objects, "ConfigMap")}
    variables: dict[str, str] = {}
    problems = []
    for source in container.get("envFrom", []):
        name = source.get("configMapRef", {}).get("name")
        if name is None:
            continue
        if name not in configmaps:
            problems.append(f"container {container['name']}: envFrom names ConfigMap {name}, which is not rendered")
            continue
        prefix = source.get("prefix", "")
        variables |= {prefix + key: str(value) for key, value in configmaps[name].get("data", {}).items()}
    for variable in container.get("env", []):
        variables[variable["name"]] = str(variable["value"]) if "value" in variable else FROM_ELSEWHERE
    return variables, problems


def setting(variables: Mapping[str, str], name: str) -> Any:
    """The value the server takes for the setting `name` (TAGGER_...): the variable's, parsed by the setting's type,
    or the setting's default."""
    field = SETTINGS[name]
    if name in variables and variables[name] != FROM_ELSEWHERE:
        return parse(_TYPES[field.name], variables[name], name)
    return field.default if field.default is not dataclasses.MISSING else None


def unknown_or_malformed(variables: Mapping[str, str]) -> list[str]:
    """A message for each TAGGER_* variable that is not a server setting, or whose value the setting cannot take."""
    problems = []
    for name in sorted(variables):
        if not name.startswith(PREFIX):
            continue
        if name not in SETTINGS:
            problems.append(f"{name} is not a setting of the server (service/config.py)")
            continue
        try:
            setting(variables, name)
        except SettingsError as error:
            problems.append(str(error))
    return problems


def port_of(address: str) -> tuple[str, int | None]:
    """The host and port of a host:port address (port None when it is not a number)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else None
