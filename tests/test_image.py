"""The image's files, checked without a Docker engine (none runs on these machines): what the Dockerfile copies is
in the build context that .dockerignore leaves, the builder stage's wheel holds the compiled scorer, the stubs and
the client's service config, the image's settings match the server's and the Kubernetes files', and `make image`
says why it cannot build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from deploy.pod import SETTINGS
from deploy.render import KUBERNETES
from service.model.scorer import COMPILED

ROOT = Path(__file__).parents[1]


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(keyword.upper(), rest.strip()) for keyword, _, rest in (line.partition(" ") for line in lines)]


def arguments() -> dict[str, str]:
    """Every ARG's default (the last one declared wins; they agree)."""
    pairs = [rest.split("=", 1) for keyword, rest in instructions() if keyword == "ARG" and "=" in rest]
    return {name: value for name, value in pairs}


def context_sources() -> list[str]:
    """What the Dockerfile copies from the build context (COPY without --from), ARG defaults filled in."""
    sources = []
    for keyword, rest in instructions():
        if keyword == "COPY" and "--from" not in rest:
            sources += rest.split()[:-1]
    return [re.sub(r"\$\{(\w+)\}", lambda m: arguments()[m.group(1)], source) for source in sources]


def ignored(path: str) -> bool:
    """Whether .dockerignore leaves `path` (relative to the root) out of the build context: the last pattern that
    matches the path or a folder above it decides, `!` patterns putting it back."""
    verdict = False
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    for line in [line for line in lines if line and not line.startswith("#")]:
        keep, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:n])) for n in range(1, len(parts) + 1)):
            verdict = not keep
    return verdict


def test_what_the_dockerfile_copies_is_in_the_build_context_and_nothing_local_is():
    sources = context_sources()
    assert {"pyproject.toml", "setup.py", "service", "training", "models/tagger.tables.npz"} <= set(sources)
    assert not [source for source in sources if ignored(source)]
    assert not [s for s in sources if not s.startswith("models/") and not (ROOT / s).exists()]  # models: make train
    kept = ["service/model/_speedups.c", "service/gen/tagger_service_pb2.py", "service/cli/grpc_service_config.json"]
    assert not [path for path in kept if ignored(path)]
    left_out = [".venv/bin/python", "service/model/_speedups.cpython-311-x86_64-linux-gnu.so", "tests/conftest.py"]
    left_out += [
        "service/api/__pycache__/server.cpython-311.pyc",
        "training/data/train.jsonl",
        "models/tagger.prev.json",
    ]
    assert all(ignored(path) for path in left_out)


def test_the_image_settings_are_the_servers_and_match_the_kubernetes_files():
    env = dict(
        re.findall(r"(\w+)=(\S+)", " ".join(rest for keyword, rest in instructions() if keyword == "ENV")),
    )
    assert {name for name in env if name.startswith("TAGGER_")} <= set(SETTINGS)
    configmap = dict(line.split("=", 1) for line in (KUBERNETES / "base" / "settings.env").read_text().split())
    model_path = env["TAGGER_MODEL_PATH"].replace("${MODEL_NAME}", arguments()["MODEL_NAME"])
    assert model_path == configmap["TAGGER_MODEL_PATH"] == "/models/tagger.joblib"
    assert env["TAGGER_ADDRESS"] == configmap["TAGGER_ADDRESS"]
    deployment = yaml.safe_load((KUBERNETES / "base" / "server" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    assert (
        dict(instructions())["USER"] == f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"
    )
    assert {"mountPath": "/models", "name": "model", "readOnly": True} in pod["containers"][0]["volumeMounts"]
    assert "tagger health" in dict(instructions())["HEALTHCHECK"]
    assert dict(instructions())["ENTRYPOINT"] == '["python", "-m", "service"]'


def test_the_builder_stage_builds_a_wheel_with_the_compiled_scorer_the_stubs_and_the_service_config(tmp_path):
    """What the builder stage's RUN lines do, on this machine, from exactly the files its COPY lines take."""
    context = tmp_path / "src"
    for source in context_sources():
        for path in [ROOT / source] if (ROOT / source).is_file() else sorted((ROOT / source).rglob("*")):
            relative = path.relative_to(ROOT).as_posix()
            if path.is_file() and not ignored(relative):
                (context / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, context / relative)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(tmp_path / "wheels"), str(context)], check=True)
    (wheel,) = (tmp_path / "wheels").glob("tagger-*.whl")
    # a wheel whose extension failed to compile is not pure and files its modules under tagger-*.data/purelib/
    names = [re.sub(r"^tagger-[^/]*\.data/(purelib|platlib)/", "", name) for name in zipfile.ZipFile(wheel).namelist()]
    for expected in ("service/gen/tagger_service_pb2.py", "service/cli/grpc_service_config.json"):
        assert expected in names
    assert any(name.startswith("training/word_vectors/") and name.endswith(".npz") for name in names)
    assert not [name for name in names if name.startswith(("tests/", "bench/", "deploy/"))]
    if not COMPILED:
        pytest.skip("the compiled scorer is not built here (no working C compiler; the image's builder stage has gcc)")
    assert any(re.fullmatch(r"service/model/_speedups\..*\.so", name) for name in names), names
    subprocess.run([*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)], check=True)
    check = "from service.model.scorer import COMPILED, COMPILED_MISSING; assert COMPILED, COMPILED_MISSING"
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    subprocess.run([sys.executable, "-c", check], cwd=tmp_path, env=environment, check=True)


def test_make_image_says_why_it_cannot_build_where_no_docker_engine_answers(tmp_path):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "make").symlink_to(shutil.which("make") or "/usr/bin/make")
    no_docker = _make_image(PATH=str(tmp_path / "bin"))
    assert no_docker.returncode != 0 and "make image: docker is not installed" in no_docker.stderr
    if shutil.which("docker") is None:
        return
    no_engine = _make_image(DOCKER_HOST=f"unix://{tmp_path}/no-engine.sock")
    assert no_engine.returncode != 0 and "make image: no Docker engine answers here" in no_engine.stderr


def _make_image(**env: str) -> subprocess.CompletedProcess[str]:
    command = [shutil.which("make") or "make", "-s", "image"]
    environment = {**os.environ, **env}
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=False)
