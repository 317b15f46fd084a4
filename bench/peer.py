"""`make bench-peer`: MLServer 1.7.1 (scikit-learn runtime, default settings) serving the same pipeline over gRPC
(Open Inference Protocol ModelInfer, a BYTES input of the texts, `predict_proba` output), under the same load as
the tagger, in one run; prints the tagger's figures as ratios of the peer's and writes bench-results/peer.json."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
import joblib

from bench.__main__ import METHOD, SCENARIOS, Scenario, measure, payloads
from bench.process import ServerProcess, python_module, start
from service.model.bundle import load_bundle
from service.model.scorer import COMPILED
from training.data import SHIPPED_TEST, read_examples

PEER_VENV = Path(".peer-venv")
PEER_PACKAGES = ("mlserver==1.7.1", "mlserver-sklearn==1.7.1", "protobuf<7", "uvloop<0.22")
INFER = "/inference.GRPCInferenceService/ModelInfer"
# Builds ModelInferRequest bytes with MLServer's own generated protobuf classes (run by the peer's Python).
_ENCODE = """
import json, sys
from mlserver.grpc import dataplane_pb2 as d
for line in sys.stdin:
    texts = json.loads(line)
    request = d.ModelInferRequest(
        model_name="tagger",
        inputs=[d.ModelInferRequest.InferInputTensor(
            name="text", datatype="BYTES", shape=[len(texts)],
            parameters={"content_type": d.InferParameter(string_param="str")},
            contents=d.InferTensorContents(bytes_contents=[t.encode() for t in texts]))],
        outputs=[d.ModelInferRequest.InferRequestedOutputTensor(name="predict_proba")])
    sys.stdout.write(request.SerializeToString().hex() + "\\n")
"""
SCORERS = ["compiled", "python"] if COMPILED else ["python"]
PEER_SCENARIOS = tuple(s for s in SCENARIOS if s.method == METHOD and s.in_flight == 8)


def install(sklearn_version: str) -> Path:
    """The peer's own environment, with the project's scikit-learn version; returns its python."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    packages = [*PEER_PACKAGES, f"scikit-learn=={sklearn_version}"]
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def peer_payloads(python: Path, texts: list[str], per_call: int) -> list[bytes]:
    """ModelInfer requests of `per_call` texts each."""
    chunks = [texts[i : i + per_call] for i in range(0, len(texts) - per_call + 1, per_call)]
    lines = "".join(json.dumps(chunk) + "\n" for chunk in chunks)
    out = subprocess.run([str(python), "-c", _ENCODE], input=lines, capture_output=True, text=True, check=True)
    return [bytes.fromhex(line) for line in out.stdout.split()]


def start_peer(folder: Path, pipeline: Any) -> ServerProcess:
    """Write the model folder and start `mlserver start` on free ports; wait until the model is ready."""
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, folder / "model.joblib")
    grpc_port, http_port, metrics_port = _free_ports(3)
    (folder / "settings.json").write_text(
        json.dumps({"grpc_port": grpc_port, "http_port": http_port, "metrics_port": metrics_port})
    )
    (folder / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "tagger",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": "./model.joblib"},
            }
        )
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(PEER_VENV / "bin" / "mlserver"), "start", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    address = f"127.0.0.1:{grpc_port}"
    _wait_model_ready(address, process)
    return ServerProcess(process, address, time.perf_counter() - started)


def _wait_model_ready(address: str, process: subprocess.Popen[str]) -> None:
    ready = b"\n\x06tagger"  # ModelReadyRequest(name="tagger")
    with grpc.insecure_channel(address) as channel:
        call = channel.unary_unary("/inference.GRPCInferenceService/ModelReady")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("mlserver exited before the model was ready")
            try:
                if call(ready, timeout=1) == b"\x08\x01":
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.02)
    raise RuntimeError("mlserver's model was not ready within 120 s")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def main(argv: list[str] | None = None) -> int:
    """Install the peer, run the load against it and against the tagger, print ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/peer.json"))
    parser.add_argument("--scorers", type=lambda text: text.split(","), default=SCORERS, help="TAGGER_SCORER values")
    args = parser.parse_args(argv)
    card, bundle = load_bundle(args.model)
    python = install(card.sklearn_version)
    texts = [e.text for e in read_examples([SHIPPED_TEST])]
    peer = start_peer(args.out.parent / "peer-model", bundle["pipeline"])
    env = {"TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(args.model)}
    taggers = {scorer: start(python_module("service"), env | {"TAGGER_SCORER": scorer}) for scorer in args.scorers}
    time.sleep(2.0)
    rows = []
    try:
        for connections in (1, 4):
            for scenario in PEER_SCENARIOS:
                theirs_data = peer_payloads(python, texts, scenario.per_call)
                theirs = measure(peer, Scenario(scenario.name, INFER, *scenario[2:]), theirs_data, connections)
                for scorer, tagger in taggers.items():
                    ours = measure(tagger, scenario, payloads(texts, scenario.per_call, METHOD), connections)
                    rows.append(
                        {
                            "scenario": f"[{scorer}] {scenario.name}",
                            "connections": connections,
                            "mlserver": theirs,
                            "tagger": ours,
                            "x_peer_items": round(ours["items_per_s"] / theirs["items_per_s"], 2),
                            "x_peer_p50": round(ours["p50_ms"] / theirs["p50_ms"], 3),
                        }
                    )
        memory = {"mlserver": peer.memory()} | {f"tagger ({s})": t.memory() for s, t in taggers.items()}
    finally:
        for tagger in taggers.values():
            tagger.stop()
        peer.stop()
    tagger = next(iter(taggers.values()))
    report = {
        "rows": rows,
        "memory": memory,
        "peer_seconds_to_ready": round(peer.seconds_to_ready, 2),
        "tagger_seconds_to_serving": round(tagger.seconds_to_ready, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        f"{'scenario':<37}{'conns':>5} {'mlserver items/s':>16} {'tagger items/s':>14} {'x peer':>7} "
        f"{'peer p50':>9} {'tagger p50':>10}"
    )
    for row in rows:
        m, t = row["mlserver"], row["tagger"]
        print(
            f"{row['scenario']:<37}{row['connections']:>5} {m['items_per_s']:>16.0f} {t['items_per_s']:>14.0f} "
            f"{row['x_peer_items']:>7.2f} {m['p50_ms']:>9.2f} {t['p50_ms']:>10.2f}"
            + (f"  peer errors {m['errors']}" if m["errors"] else "")
        )
    print(f"ready: mlserver {report['peer_seconds_to_ready']} s, tagger {report['tagger_seconds_to_serving']} s")
    for name, rows_ in memory.items():
        print(f"{name} RSS: " + ", ".join(f"{r['rss_mib']} MiB" for r in rows_))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
