"""What every backend connector provides, and the two kinds of failure it may report.

A connector gets one :class:`SyncEvent` at a time — an outcome of one claim at one version —
and either delivers it, or raises :class:`TransientBackendError` (try again later: timeouts,
connection errors, 5xx, 408, 429) or :class:`PermanentBackendError` (the backend refused it for
good: the sync worker dead-letters the row with the backend's answer). Delivery is at least once;
every call carries :attr:`SyncEvent.idempotency_key` so the backend applies it exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from storage.models import Attachment, AuditEntry, Claim

ANSWER_LIMIT = 500  # characters of a backend's answer kept in an error (and the dead letter)


@dataclass(frozen=True, slots=True)
class SyncEvent:
    """One claim outcome to report: the claim as it was at ``version``, with its trail so far."""

    event: str  # submitted | approved | rejected | returned | withdrawn | paid
    claim: Claim
    trail: tuple[AuditEntry, ...] = ()
    attachments: Mapping[str, Attachment] = field(default_factory=dict)  # metadata by id

    @property
    def version(self) -> int:
        return self.claim.version

    @property
    def idempotency_key(self) -> str:
        return f"{self.claim.id}:{self.version}:{self.event}"


class BackendError(Exception):
    """A delivery that did not happen."""


class TransientBackendError(BackendError):
    """Worth retrying later; ``retry_after`` (seconds) when the backend said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentBackendError(BackendError):
    """The backend will not accept this event as it is; retrying cannot help."""


class Backend(Protocol):
    async def deliver(self, event: SyncEvent) -> None:
        """Deliver ``event``; raises TransientBackendError or PermanentBackendError."""


RETRYABLE_STATUSES = frozenset({408, 425, 429})


def answer_text(body: str) -> str:
    """A backend's answer, shortened for logs and dead letters."""
    text = " ".join(body.split())
    return text if len(text) <= ANSWER_LIMIT else text[:ANSWER_LIMIT] + "…"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (the delta form; an HTTP date is ignored), capped at an hour."""
    value = headers.get("Retry-After", "").strip()
    if not value.isdigit():
        return None
    return float(min(int(value), 3600))


def classify_status(
    status: int, body: str, headers: Mapping[str, str], what: str
) -> BackendError | None:
    """None for 2xx; otherwise the error a connector raises for this HTTP answer."""
    if 200 <= status < 300:
        return None
    message = f"{what}: HTTP {status}: {answer_text(body)}"
    if status >= 500 or status in RETRYABLE_STATUSES:
        return TransientBackendError(message, retry_after_seconds(headers))
    return PermanentBackendError(message)
