"""`tagger`: a command-line client for TaggerService (tag paragraphs, tag a document, describe the model) and the
server's standard health service (`tagger health`, what the image's HEALTHCHECK runs)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service import config
from service.cli.channel import open_channel
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Run the CLI; exit 0 on success, 1 on an RPC error (code and message on stderr), 2 on a usage error."""
    try:
        settings = config.read(config.ClientSettings, None, None, prog="tagger")
    except config.SettingsError as error:
        print(f"tagger: {error}", file=sys.stderr)
        return 2
    args = _parser(settings).parse_args(argv)
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    try:
        with open_channel(args.address, args.balance, args.tls_ca, args.tls_cert, args.tls_key) as channel:
            return int(args.run(args.stub(channel), args, stdin, stdout) or 0)
    except grpc.RpcError as error:
        print(f"tagger: {error.code().name}: {error.details()}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader (`| head`) has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(f"tagger: {error}", file=sys.stderr)
        return 2


def _tag(stub: Any, args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    texts = [line.rstrip("\n") for line in stdin if line.strip()] if args.text == ["-"] else args.text
    request = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=t) for t in texts], options=_options(args))
    response = stub.TagParagraphs(request, timeout=args.timeout)
    _print_results(response.results, args.json, stdout)


def _document(stub: Any, args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    text = stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    request = pb.TagDocumentRequest(text=text, options=_options(args))
    response = stub.TagDocument(request, timeout=args.timeout)
    if args.json:
        _print_results(response.paragraphs, True, stdout)
        scores = {s.label: round(s.score, 6) for s in response.document_scores}
        print(
            json.dumps({"document": True, "labels": list(response.document_labels), "scores": scores}),
            file=stdout,
        )
        return
    _print_results(response.paragraphs, False, stdout)
    print(f"document: {', '.join(response.document_labels) or '(no label)'}", file=stdout)


def _model(stub: Any, args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> None:
    response, call = stub.GetModel.with_call(pb.GetModelRequest(), timeout=args.timeout)
    replica = dict(call.trailing_metadata() or ()).get("tagger-replica", "")
    if args.json:
        print(json.dumps(json_format.MessageToDict(response) | {"replica": replica}, sort_keys=True), file=stdout)
        return
    print(f"version  {response.model_version}\ncreated  {response.created}\nreplica  {replica}", file=stdout)
    for label in response.labels:
        print(f"label    {label:<12} threshold {response.thresholds[label]:.3f}", file=stdout)
    for name in sorted(response.metrics):
        print(f"metric   {name:<28} {response.metrics[name]:.4f}", file=stdout)
    print(f"limits   {json_format.MessageToDict(response.limits)}", file=stdout)


def _health(stub: Any, args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    response = stub.Check(health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout)
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    shown = json.dumps({"service": args.service, "status": status}) if args.json else status
    print(shown, file=stdout)
    return 0 if response.status == health_pb2.HealthCheckResponse.SERVING else 1


def _print_results(results: Sequence[pb.ParagraphTags], as_json: bool, stdout: TextIO) -> None:
    for result in results:
        scores = {s.label: round(s.score, 6) for s in result.scores}
        if as_json:
            print(json.dumps({"id": result.id, "labels": list(result.labels), "scores": scores}), file=stdout)
            continue
        shown = "  ".join(f"{label} {score:.3f}" for label, score in scores.items())
        print(f"[{result.id}] {', '.join(result.labels) or '(no label)'}    {shown}", file=stdout)
        for s in result.scores:
            if s.evidence:
                terms = ", ".join(f"{e.term} ({e.weight:.2f})" for e in s.evidence)
                print(f"      {s.label}: {terms}", file=stdout)


def _options(args: argparse.Namespace) -> pb.TagOptions:
    options = pb.TagOptions(top_k=args.top_k, explain_terms=getattr(args, "explain", 0))
    if args.threshold is not None:
        options.threshold = args.threshold
    return options


def _parser(settings: config.ClientSettings) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--address", default=settings.address, help=f"server (default {settings.address})")
    balance = common.add_mutually_exclusive_group()
    balance.add_argument(
        "--balance",
        action="store_true",
        default=None,
        help="spread calls over every replica the address resolves to (default for dns:/// and address lists)",
    )
    balance.add_argument(
        "--no-balance", dest="balance", action="store_false", default=None, help="one connection, one replica"
    )
    common.add_argument("--json", action="store_true", help="print JSON, one object per line")
    common.add_argument("--timeout", type=float, default=30.0, help="deadline in seconds (default 30)")
    common.add_argument("--tls-ca", help="PEM file of the CA that signed the server's certificate")
    common.add_argument("--tls-cert", help="client certificate (PEM) for mutual TLS")
    common.add_argument("--tls-key", help="client private key (PEM) for mutual TLS")
    tagging = argparse.ArgumentParser(add_help=False)
    tagging.add_argument("--threshold", type=float, help="override every label's threshold, in [0, 1]")
    tagging.add_argument("--top-k", type=int, default=0, help="assign at most K labels (0: no cap)")
    parser = argparse.ArgumentParser(prog="tagger", description="Tag paragraphs with topics over gRPC.")
    commands = parser.add_subparsers(required=True, metavar="{tag,document,model,health}")
    tag = commands.add_parser("tag", parents=[common, tagging], help="tag paragraphs given as arguments or -")
    tag.add_argument("--explain", type=int, default=0, metavar="N", help="show N evidence terms per label")
    tag.add_argument("text", nargs="+", metavar="TEXT", help="paragraphs, or - to read one per line from stdin")
    tag.set_defaults(run=_tag, stub=pb_grpc.TaggerServiceStub)
    document = commands.add_parser("document", parents=[common, tagging], help="tag a document file or -")
    document.add_argument("file", metavar="FILE", help="plain text or HTML file, or - for stdin")
    document.set_defaults(run=_document, stub=pb_grpc.TaggerServiceStub)
    model = commands.add_parser("model", parents=[common], help="describe the model in service")
    model.set_defaults(run=_model, stub=pb_grpc.TaggerServiceStub)
    health = commands.add_parser("health", parents=[common], help="the server's health: exit 0 when SERVING, else 1")
    health.add_argument("--service", default="", help='the service whose health to ask (default "": the server)')
    health.set_defaults(run=_health, stub=health_pb2_grpc.HealthStub)
    return parser


if __name__ == "__main__":
    sys.exit(main())
