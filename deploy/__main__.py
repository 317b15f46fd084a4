"""`python -m deploy [FOLDER...]` (`make check-deploy`): render every overlay (or the kustomizations given), validate
each object against the Kubernetes schemas, and run the checks the schemas cannot make. Exit 0 when all pass, or when
no kustomize is installed (it says so); 1 when a check fails; 2 when a folder does not render."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.checks import problems
from deploy.render import KUBERNETES_VERSIONS, RenderError, kustomize_command, overlays, render, schema_problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy", description=__doc__)
    parser.add_argument("folders", nargs="*", type=Path, help="kustomizations (default: every overlay)")
    folders = parser.parse_args(argv).folders or overlays()
    if kustomize_command() is None:
        print("check-deploy: skipped: neither kubectl nor kustomize is installed, so nothing can be rendered")
        return 0
    failed = False
    for folder in folders:
        try:
            objects = render(folder)
        except RenderError as error:
            print(f"check-deploy: {error}", file=sys.stderr)
            return 2
        found = schema_problems(objects) + problems(objects)
        schemas = " and ".join(KUBERNETES_VERSIONS)
        verdict = "ok" if not found else f"{len(found)} problem(s)"
        shown = folder.resolve().relative_to(Path.cwd()) if folder.resolve().is_relative_to(Path.cwd()) else folder
        print(f"check-deploy: {shown}: {len(objects)} objects, Kubernetes {schemas} schemas and checks: {verdict}")
        for message in found:
            print(f"  {message}")
        failed = failed or bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
