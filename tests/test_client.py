"""The `tagger` CLI against a real server: human and JSON output, stdin, documents, and exit statuses."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.api.server import SERVICE_NAME, set_serving
from service.cli.channel import SERVICE_CONFIG, balances
from service.cli.main import main
from tests.corpus import DEFENCE, ECONOMIC


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_tag_prints_labels_and_scores(grpc_server):
    code, out = run("tag", "--address", grpc_server.address, "--explain", "2", DEFENCE[0])
    assert code == 0 and out.startswith("[0] defence") and "economic 0." in out and "defence:" in out


def test_tag_json_reads_paragraphs_from_stdin(grpc_server):
    code, out = run("tag", "--address", grpc_server.address, "--json", "-", stdin=f"{DEFENCE[0]}\n\n{ECONOMIC[0]}\n")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [line["id"] for line in lines] == ["0", "1"]
    assert lines[1]["labels"] == ["economic"] and set(lines[1]["scores"]) == {"defence", "economic", "political"}


def test_document_and_model(grpc_server, tmp_path):
    article = tmp_path / "article.html"
    article.write_text(f"<p>{DEFENCE[0]}</p>\n<p>{ECONOMIC[0]}</p>\n")
    code, out = run("document", "--address", grpc_server.address, str(article))
    assert code == 0 and "document: " in out and "defence" in out.splitlines()[-1]
    code, out = run("model", "--address", grpc_server.address, "--json")
    model = json.loads(out)
    assert code == 0 and model["labels"] == ["defence", "economic", "political"]
    assert model["replica"] == grpc_server.settings.replica  # from the tagger-replica trailer


@pytest.mark.parametrize(
    ("target", "balanced"),
    [
        ("127.0.0.1:50051", False),
        ("dns:///tagger-headless.news.svc.cluster.local:50051", True),
        ("ipv4:127.0.0.1:1,127.0.0.2:1", True),
        ("ipv4:127.0.0.1:1", False),
        ("unix:/run/tagger.sock", False),
    ],
)
def test_names_of_several_replicas_get_the_balanced_service_config(target, balanced):
    assert balances(target) is balanced


def test_the_shipped_service_config_balances_health_checks_and_retries_the_service():
    config = json.loads(SERVICE_CONFIG)
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"]["serviceName"] == SERVICE_NAME
    (method,) = config["methodConfig"]
    assert method["name"] == [{"service": SERVICE_NAME}] and method["waitForReady"] is True
    assert method["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]


def test_rpc_error_exits_one_with_the_status_on_stderr(grpc_server, capsys):
    code, _ = run("tag", "--address", grpc_server.address, "--threshold", "2", "text")
    assert code == 1 and "INVALID_ARGUMENT" in capsys.readouterr().err


def test_usage_error_exits_two():
    with pytest.raises(SystemExit) as excinfo:
        run("tag")
    assert excinfo.value.code == 2


def test_console_script_is_installed(grpc_server):
    script = Path(sys.executable).parent / "tagger"
    result = subprocess.run(
        [str(script), "model", "--address", grpc_server.address], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and "version" in result.stdout


def test_health_exits_zero_while_serving_and_one_once_draining(grpc_server):
    address = grpc_server.address
    assert run("health", "--address", address) == (0, "SERVING\n")
    code, out = run("health", "--address", address, "--service", SERVICE_NAME, "--json")
    assert code == 0 and json.loads(out) == {"service": SERVICE_NAME, "status": "SERVING"}
    grpc_server.call(set_serving(grpc_server.health, False))
    try:
        assert run("health", "--address", address) == (1, "NOT_SERVING\n")
        assert run("health", "--address", address, "--service", SERVICE_NAME) == (1, "NOT_SERVING\n")
    finally:
        grpc_server.call(set_serving(grpc_server.health, True))


def test_health_of_an_unknown_service_or_an_absent_server_exits_one(grpc_server, capsys):
    assert run("health", "--address", grpc_server.address, "--service", "tagger.v1.Other")[0] == 1
    assert "NOT_FOUND" in capsys.readouterr().err
    assert run("health", "--address", "127.0.0.1:1", "--timeout", "2")[0] == 1
    assert "UNAVAILABLE" in capsys.readouterr().err
