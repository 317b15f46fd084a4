"""Every check of the rendered objects that their schemas cannot make, in one place: `make check-deploy`
(`python -m deploy`) and tests/test_deploy.py both call `problems`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deploy import serving, wiring
from deploy.pod import of_kind
from deploy.render import Manifest

Check = Callable[[Sequence[Manifest]], list[str]]

CHECKS: tuple[Check, ...] = (
    wiring.probe_ports,
    wiring.selectors,
    wiring.autoscaler,
    wiring.services,
    serving.settings,
    serving.listening,
    serving.drain,
    serving.model,
    serving.hardening,
)


def problems(objects: Sequence[Manifest]) -> list[str]:
    """Every problem every check finds in the rendered `objects`, each once, in the order of CHECKS."""
    if not of_kind(objects, "Deployment"):
        return ["no Deployment is rendered"]
    return list(dict.fromkeys(message for check in CHECKS for message in check(objects)))
