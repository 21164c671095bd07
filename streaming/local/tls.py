"""Certificates for the local endpoint: a throw-away CA and a localhost certificate.

Minted in-process with ``cryptography`` (no ``openssl`` binary). Clients trust the CA
through its PEM file: ``ca_file=`` for ours, ``SSL_CERT_FILE`` for awscrt-based SDKs,
``NODE_EXTRA_CA_CERTS`` for Node.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..proto.errors import ParameterError

__all__ = ["ServerCertificates", "mint_self_signed", "server_context"]


@dataclass(frozen=True)
class ServerCertificates:
    """PEM files: the CA clients trust, and the server's certificate chain and key."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "streamscribe local endpoint"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def mint_self_signed(directory: Path | None = None, *, now: _dt.datetime | None = None) -> ServerCertificates:
    """Create a CA and a certificate for localhost, 127.0.0.1 and ::1, valid for 30 days."""
    now = now or _dt.datetime.now(_dt.UTC)
    directory = Path(directory or tempfile.mkdtemp(prefix="streamscribe-tls-"))
    directory.mkdir(parents=True, exist_ok=True)
    start, end = now - _dt.timedelta(hours=1), now + _dt.timedelta(days=30)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("streamscribe local CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.pem"
    cert_file = directory / "server.pem"
    key_file = directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file.write_bytes(cert.public_bytes(pem) + ca_cert.public_bytes(pem))
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_file.chmod(0o600)
    return ServerCertificates(ca_file, cert_file, key_file)


def server_context(cert_file: Path, key_file: Path, *, alpn: list[str]) -> ssl.SSLContext:
    """A server TLS context offering ``alpn`` (``["h2"]`` or ``["http/1.1"]``)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    for role, path in (("certificate", cert_file), ("key", key_file)):
        if not Path(path).is_file():
            raise ParameterError("tls", f"the TLS {role} file {path} does not exist")
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise ParameterError("tls", _chain_problem(Path(cert_file), Path(key_file), exc)) from exc
    context.set_alpn_protocols(alpn)
    return context


def _pem_kinds(path: Path) -> set[str]:
    """What a PEM file holds: "certificate", "key", or nothing recognisable."""
    try:
        head = path.read_bytes()[: 1 << 20]
    except OSError:
        return set()
    kinds = set()
    if b"-----BEGIN CERTIFICATE-----" in head:
        kinds.add("certificate")
    if b"PRIVATE KEY-----" in head:
        kinds.add("key")
    return kinds


def _chain_problem(cert_file: Path, key_file: Path, exc: ssl.SSLError) -> str:
    """What is wrong with a certificate and key pair, in words (not OpenSSL's "PEM lib")."""
    cert_kinds, key_kinds = _pem_kinds(cert_file), _pem_kinds(key_file)
    if "key" in cert_kinds and "certificate" not in cert_kinds and "certificate" in key_kinds:
        return f"--tls-cert {cert_file} holds a private key and --tls-key {key_file} a certificate: they are swapped"
    if "certificate" not in cert_kinds:
        return f"--tls-cert {cert_file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
    if "key" not in key_kinds:
        return f"--tls-key {key_file} holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)"
    if "KEY_VALUES_MISMATCH" in str(exc) or "values mismatch" in str(exc):
        return f"the private key in --tls-key {key_file} does not belong to the certificate in --tls-cert {cert_file}"
    return f"cannot use --tls-cert {cert_file} with --tls-key {key_file}: {exc.reason or exc}"
