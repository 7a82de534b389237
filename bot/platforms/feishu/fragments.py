"""Reassembling a payload Feishu split over several data frames (headers ``sum`` and ``seq``).

Parts of one message share its ``message_id`` and may arrive in any order. An incomplete
message is forgotten ``ttl`` seconds after its first part (the SDK keeps them 5 s too): Feishu
re-pushes the whole message when it goes unanswered. Counts and sizes are bounded so a
misbehaving peer cannot grow memory without limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_PARTS = 256
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
MAX_PENDING = 128


class FragmentError(ValueError):
    """A part whose ``sum``/``seq`` make no sense or would exceed the bounds."""


@dataclass(slots=True)
class _Pending:
    parts: list[bytes | None]
    size: int
    expires: float


class Reassembler:
    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._pending: dict[str, _Pending] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, message_id: str, total: int, seq: int, part: bytes) -> bytes | None:
        """The whole payload once ``part`` completes it, else None (a repeated part replaces)."""
        if not 1 <= total <= MAX_PARTS:
            raise FragmentError(f"sum {total} is outside 1..{MAX_PARTS}")
        if not 0 <= seq < total:
            raise FragmentError(f"seq {seq} is outside 0..{total - 1}")
        if total == 1:
            return part
        now = self._clock()
        self._expire(now)
        pending = self._pending.get(message_id)
        if pending is None or len(pending.parts) != total:
            if pending is None and len(self._pending) >= MAX_PENDING:
                raise FragmentError(f"more than {MAX_PENDING} fragmented messages pending")
            pending = _Pending([None] * total, 0, now + self._ttl)
            self._pending[message_id] = pending
        previous = pending.parts[seq]
        size = pending.size - (len(previous) if previous is not None else 0) + len(part)
        if size > MAX_MESSAGE_BYTES:
            del self._pending[message_id]
            raise FragmentError(f"message {message_id} exceeds {MAX_MESSAGE_BYTES} bytes")
        pending.parts[seq], pending.size = part, size
        if any(p is None for p in pending.parts):
            return None
        del self._pending[message_id]
        return b"".join(p for p in pending.parts if p is not None)

    def _expire(self, now: float) -> None:
        for message_id in [m for m, p in self._pending.items() if p.expires <= now]:
            del self._pending[message_id]
