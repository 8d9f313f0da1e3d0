"""Security helpers shared by the OPC UA server and client sides (certificates)."""

from graphtwin.security.certs import (
    CertificateRole,
    ensure_certificate,
    ensure_client_certificate,
    ensure_server_certificate,
)

__all__ = [
    "CertificateRole",
    "ensure_certificate",
    "ensure_client_certificate",
    "ensure_server_certificate",
]
