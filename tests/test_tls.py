"""TLS and mutual TLS with certificates made by the tests: plaintext and unknown clients are refused."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from service.cli.main import main as cli
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from tests.harness import ServerThread, start_server


def _issue(
    folder: Path, name: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0].subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(issuer[1] if issuer else key, hashes.SHA256())
    (folder / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA."""
    folder = tmp_path_factory.mktemp("certs")
    ca = _issue(folder, "ca", None)
    _issue(folder, "server", ca)
    _issue(folder, "client", ca)
    return folder


@pytest.fixture
def tls_server(bundle_path: Path, certs: Path, request: pytest.FixtureRequest) -> Iterator[ServerThread]:
    client_ca = certs / "ca.crt" if getattr(request, "param", False) else None
    server = start_server(
        bundle_path, tls_cert=certs / "server.crt", tls_key=certs / "server.key", tls_client_ca=client_ca
    )
    yield server
    server.stop()


def get_model(address: str, credentials: grpc.ChannelCredentials | None) -> grpc.StatusCode:
    channel = grpc.secure_channel(address, credentials) if credentials else grpc.insecure_channel(address)
    with channel:
        try:
            pb_grpc.TaggerServiceStub(channel).GetModel(pb.GetModelRequest(), timeout=5)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_tls_server_refuses_plaintext_and_serves_a_client_that_trusts_it(tls_server, certs):
    assert get_model(tls_server.address, None) is grpc.StatusCode.UNAVAILABLE
    trusting = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.crt").read_bytes())
    assert get_model(tls_server.address, trusting) is grpc.StatusCode.OK
    assert cli(["model", "--address", tls_server.address, "--tls-ca", str(certs / "ca.crt")]) == 0


@pytest.mark.parametrize("tls_server", [True], indirect=True)
def test_mutual_tls_refuses_a_client_without_a_certificate(tls_server, certs):
    ca = (certs / "ca.crt").read_bytes()
    assert get_model(tls_server.address, grpc.ssl_channel_credentials(root_certificates=ca)) is not grpc.StatusCode.OK
    with_certificate = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=(certs / "client.key").read_bytes(),
        certificate_chain=(certs / "client.crt").read_bytes(),
    )
    assert get_model(tls_server.address, with_certificate) is grpc.StatusCode.OK
    tls = [
        "--tls-ca",
        str(certs / "ca.crt"),
        "--tls-cert",
        str(certs / "client.crt"),
        "--tls-key",
        str(certs / "client.key"),
    ]
    assert cli(["model", "--address", tls_server.address, *tls]) == 0
