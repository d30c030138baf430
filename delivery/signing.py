"""Standard Webhooks signatures (https://www.standardwebhooks.com/), for brands with a secret.

``webhook-id`` is the callback's ``request_id`` (the same on every retry, as the scheme asks),
``webhook-timestamp`` the attempt's Unix time, and ``webhook-signature`` ``v1,<base64 HMAC-SHA256
of "{id}.{timestamp}.{body}">``. Secrets are ``whsec_<base64>``; any other string is used as raw
bytes.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

PREFIX = "whsec_"


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a ``whsec_`` secret (or of a plain string)."""
    if secret.startswith(PREFIX):
        return base64.b64decode(secret[len(PREFIX):])
    return secret.encode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 signature>`` for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secret: str, msg_id: str, now: datetime, body: bytes) -> dict[str, str]:
    """The three signature headers for one attempt."""
    timestamp = int(now.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True when one of the ``webhook-signature`` entries matches (for receivers and tests)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        expected = signature(secret, lowered["webhook-id"], int(lowered["webhook-timestamp"]),
                             body)
    except (KeyError, ValueError):
        return False
    return any(hmac.compare_digest(expected, given)
               for given in lowered.get("webhook-signature", "").split())
