"""The robot HTTP-mode signature: ``base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))``.

DingTalk sends ``timestamp`` (milliseconds) and ``sign`` headers and calls a request older or
newer than one hour illegitimate. Only the timestamp is signed, not the body: the window and
the message-id dedup are what stop a replay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from bot.platforms.crypto import same

WINDOW_MS = 3_600_000


class RobotSignatureError(ValueError):
    """Missing, stale or forged robot signature headers."""


def robot_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def now_ms() -> int:
    return int(time.time() * 1000)


def verify_robot(
    secret: str, timestamp: str, sign: str, clock: Callable[[], int] = now_ms
) -> None:
    if not timestamp or not sign:
        raise RobotSignatureError("missing timestamp or sign header")
    if not timestamp.isdigit() or len(timestamp) > 16:
        raise RobotSignatureError("timestamp is not milliseconds")
    if abs(clock() - int(timestamp)) > WINDOW_MS:
        raise RobotSignatureError("timestamp outside the one-hour window")
    if not same(robot_sign(secret, timestamp), sign):
        raise RobotSignatureError("signature mismatch")
