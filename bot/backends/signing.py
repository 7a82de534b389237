"""The webhook signature, both directions: hex HMAC-SHA256(secret, timestamp + "." + body)."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Claimbot-Timestamp"
SIGNATURE_HEADER = "X-Claimbot-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-Claimbot-Event"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Constant-time check; a timestamp that is not plain ASCII never verifies."""
    if not timestamp.isascii():
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature.strip().lower())
