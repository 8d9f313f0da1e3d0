"""Identifiers in URLs: UTF-8, base64url-encoded (Part 2 §12.2), padding optional.

Decoding is strict on purpose: a malformed id is the client's mistake (400), not
an unknown one (404), and the conformance suite checks exactly that.
"""

from __future__ import annotations

import base64
import binascii
import re

from graphtwin.errors import BadInput

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def encode_id(identifier: str) -> str:
    """``identifier`` as it appears in a URL: base64url without padding."""
    return base64.urlsafe_b64encode(identifier.encode()).decode().rstrip("=")


def decode_id(text: str, what: str = "identifier") -> str:
    """The identifier behind a base64url path segment or query value.

    :raises BadInput: not base64url, wrong padding, or not UTF-8.
    """
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if (
        not _BASE64URL.fullmatch(body)
        or len(body) % 4 == 1
        or (padding and (len(text) % 4 or padding > 2))
    ):
        raise BadInput(f"{what} is not base64url-encoded: {text[:80]!r}")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadInput(f"{what} is not base64url-encoded UTF-8: {text[:80]!r}") from exc
