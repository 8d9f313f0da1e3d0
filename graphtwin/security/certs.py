"""Self-signed OPC UA application instance certificates, created once and reused.

An OPC UA application (client or server) proves its identity with an X.509
certificate whose SubjectAltName carries the application URI. This module
creates such a certificate and its RSA key in a directory on first use and
reuses them on later calls while they are still valid for the same application
URI and host names, so a peer that trusted the certificate once keeps trusting it.

Files in ``directory`` (``name`` defaults to the role, "client" or "server"):

* ``<name>-cert.der`` -- the certificate, DER encoded (what OPC UA exchanges);
* ``<name>-key.pem`` -- the unencrypted PKCS#8 private key, mode 0600.

The certificate profile follows OPC UA Part 6 (and what asyncua generates):
RSA 2048 / SHA-256, key usage digitalSignature, nonRepudiation, keyEncipherment,
dataEncipherment and keyCertSign, basicConstraints CA (self-signed, path length
0, which asyncua's ``TrustStore`` requires of anything it trusts directly), and the
extended key usage clientAuth (client) or serverAuth + clientAuth (server).

Only the standard library and ``cryptography`` are used, so any layer may import it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "CertificateRole",
    "ensure_certificate",
    "ensure_client_certificate",
    "ensure_server_certificate",
    "trust_certificate",
]

_KEY_SIZE = 2048
# Backdated so a peer whose clock is slightly behind does not see "not yet valid".
_BACKDATE = timedelta(hours=1)
# A certificate is renewed this long before it expires (or at half its lifetime).
_RENEW_BEFORE = timedelta(days=14)


class CertificateRole(StrEnum):
    """Which side of an OPC UA connection the certificate identifies."""

    CLIENT = "client"
    SERVER = "server"


def ensure_client_certificate(
    directory: str | os.PathLike[str],
    application_uri: str,
    *,
    name: str = "client",
    hostnames: Sequence[str] | None = None,
    common_name: str | None = None,
    days: int = 365,
) -> tuple[Path, Path]:
    """A client certificate and key for ``application_uri`` in ``directory``.

    :returns: ``(cert_path, key_path)``; created on first call, reused afterwards.
    """
    return ensure_certificate(
        directory,
        application_uri,
        role=CertificateRole.CLIENT,
        name=name,
        hostnames=hostnames,
        common_name=common_name,
        days=days,
    )


def ensure_server_certificate(
    directory: str | os.PathLike[str],
    application_uri: str,
    *,
    name: str = "server",
    hostnames: Sequence[str] | None = None,
    common_name: str | None = None,
    days: int = 365,
) -> tuple[Path, Path]:
    """A server certificate and key for ``application_uri`` in ``directory``.

    :returns: ``(cert_path, key_path)``; created on first call, reused afterwards.
    """
    return ensure_certificate(
        directory,
        application_uri,
        role=CertificateRole.SERVER,
        name=name,
        hostnames=hostnames,
        common_name=common_name,
        days=days,
    )


def ensure_certificate(
    directory: str | os.PathLike[str],
    application_uri: str,
    *,
    role: CertificateRole,
    name: str | None = None,
    hostnames: Sequence[str] | None = None,
    common_name: str | None = None,
    days: int = 365,
) -> tuple[Path, Path]:
    """Create (or reuse) a self-signed certificate and key; return their paths.

    The existing pair is reused when the certificate parses, matches the key, is
    not about to expire, has the requested role and carries ``application_uri``
    and every requested host name. Otherwise a new key and certificate replace it.

    :param hostnames: DNS names or IP addresses for the SubjectAltName; by default
        this machine's host name and "localhost".
    :raises ValueError: ``application_uri`` is empty or ``days`` is less than 1.
    """
    if not application_uri:
        raise ValueError("an OPC UA certificate needs an application URI")
    if days < 1:
        raise ValueError(f"a certificate must be valid for at least one day, got {days}")
    role = CertificateRole(role)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or role.value
    cert_path = folder / f"{stem}-cert.der"
    key_path = folder / f"{stem}-key.pem"
    names = _default_hostnames() if hostnames is None else tuple(hostnames)
    if _reusable(cert_path, key_path, application_uri, names, role):
        return cert_path, key_path

    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_SIZE)
    cert = _self_signed(key, application_uri, names, role, common_name, days)
    _write_atomically(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private=True,
    )
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.DER), private=False)
    return cert_path, key_path


def trust_certificate(
    cert_path: str | os.PathLike[str], trusted_dir: str | os.PathLike[str]
) -> Path:
    """Copy a peer's certificate into a trust-list directory; return the copy's path."""
    source = Path(cert_path)
    target_dir = Path(trusted_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / source.name
    shutil.copyfile(source, target)
    return target


def _default_hostnames() -> tuple[str, ...]:
    host = socket.gethostname()
    return (host, "localhost") if host and host != "localhost" else ("localhost",)


def _reusable(
    cert_path: Path,
    key_path: Path,
    application_uri: str,
    hostnames: Sequence[str],
    role: CertificateRole,
) -> bool:
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_der_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (ValueError, TypeError, x509.ExtensionNotFound):
        return False
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != cert.public_key():
        return False
    now = datetime.now(UTC)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    if cert.not_valid_before_utc > now:
        return False
    if cert.not_valid_after_utc - now < min(_RENEW_BEFORE, lifetime / 2):
        return False
    if application_uri not in san.get_values_for_type(x509.UniformResourceIdentifier):
        return False
    dns = set(san.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    if any(host not in dns and host not in ips for host in hostnames):
        return False
    return _usage_oids(role) <= set(usage)


def _usage_oids(role: CertificateRole) -> set[x509.ObjectIdentifier]:
    if role is CertificateRole.SERVER:
        return {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    return {ExtendedKeyUsageOID.CLIENT_AUTH}


def _alt_names(application_uri: str, hostnames: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    for host in dict.fromkeys(hostnames):  # de-duplicated, order kept
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _self_signed(
    key: rsa.RSAPrivateKey,
    application_uri: str,
    hostnames: Sequence[str],
    role: CertificateRole,
    common_name: str | None,
    days: int,
) -> x509.Certificate:
    cn = common_name or f"graphtwin OPC UA {role.value}"
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "graphtwin"),
        ]
    )
    now = datetime.now(UTC)
    public = key.public_key()
    serial = x509.random_serial_number()
    usage = (
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        if role is CertificateRole.SERVER
        else [ExtendedKeyUsageOID.CLIENT_AUTH]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(_alt_names(application_uri, hostnames)), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def _write_atomically(path: Path, data: bytes, *, private: bool) -> None:
    """Write via a temporary file in the same directory, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if private:
            os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
