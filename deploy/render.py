"""Rendering the overlays with `kubectl kustomize` and checking every rendered object against the Kubernetes API's
schemas with kubernetes-validate (offline, strict: an unknown or misspelt field is an error)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUBERNETES = Path(__file__).parent / "kubernetes"
# The oldest Kubernetes the files are for (native gRPC probes are GA from 1.27; matchLabelKeys from 1.27 on by
# default) and the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30", "1.37")

Manifest = dict[str, Any]


class RenderError(RuntimeError):
    """An overlay that kustomize cannot render; the message holds kustomize's own."""


def kustomize_command() -> list[str] | None:
    """The command that renders a kustomization folder: `kubectl kustomize`, else `kustomize build`; None if neither
    is installed."""
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    return None


def overlays() -> list[Path]:
    """Every overlay folder of deploy/kubernetes/overlays."""
    return sorted(path.parent for path in (KUBERNETES / "overlays").glob("*/kustomization.yaml"))


def render(folder: Path) -> list[Manifest]:
    """The objects the kustomization in `folder` renders. Raises RenderError when it does not render."""
    command = kustomize_command()
    if command is None:
        raise RenderError("neither kubectl nor kustomize is installed")
    done = subprocess.run([*command, str(folder)], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RenderError(f"{folder}: {done.stderr.strip()}")
    return [document for document in yaml.safe_load_all(done.stdout) if document]


def name_of(manifest: Manifest) -> str:
    """`Kind/name`, as messages name an object."""
    return f"{manifest.get('kind')}/{manifest.get('metadata', {}).get('name')}"


def schema_problems(objects: Sequence[Manifest], versions: Sequence[str] = KUBERNETES_VERSIONS) -> list[str]:
    """What the API's schemas refuse in `objects`, for each Kubernetes version of `versions`: one message each,
    naming the object, the field path and the version."""
    problems = []
    for version in versions:
        for manifest in objects:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(part) for part in error.path)
                problems.append(f"{name_of(manifest)}: {path}: {error.message} (Kubernetes {version} schema)")
            except kubernetes_validate.SchemaNotFoundError as error:
                problems.append(f"{name_of(manifest)}: {error.message}")
    return problems
