"""What every storage backend provides, and the errors it raises.

Two implementations keep this contract: ``storage.sqlite`` (the embedded default) and
``storage.redis`` (many instances sharing one Redis). ``tests/contract`` runs one suite over both.
All writes that belong together go through :meth:`Storage.commit`, which applies a whole
:class:`~storage.models.Commit` atomically: the claim change, its audit entries, its queue rows,
its invoice locks and the conversation state, or nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from storage.models import (
    Attachment,
    AuditEntry,
    CardCopy,
    Claim,
    ClaimStatus,
    Commit,
    Leased,
    QueueMessage,
)

DEFAULT_ATTACHMENT_LIMIT = 20 * 1024 * 1024
TOPICS = ("inbound", "platform", "backend")


class StorageError(Exception):
    """Base of every error a storage backend raises on purpose."""


class StorageUnavailable(StorageError):
    """The backing store cannot be reached (Redis down, SQLite file unwritable)."""


class InvalidInput(StorageError, ValueError):
    """An argument that cannot be stored: unknown topic, empty key, negative TTL…"""


class VersionConflict(StorageError):
    def __init__(self, claim_id: str, expected: int | None, actual: int | None) -> None:
        super().__init__(f"claim {claim_id}: expected version {expected}, stored {actual}")
        self.claim_id = claim_id
        self.expected = expected
        self.actual = actual


class ClaimNotFound(StorageError):
    def __init__(self, claim_id: str) -> None:
        super().__init__(f"no claim {claim_id}")
        self.claim_id = claim_id


class InvoiceInUse(StorageError):
    """An invoice already backs another live claim."""

    def __init__(self, invoice_key: str, holder_claim_id: str) -> None:
        super().__init__(f"invoice {invoice_key} already backs claim {holder_claim_id}")
        self.invoice_key = invoice_key
        self.holder_claim_id = holder_claim_id


class StaleReceipt(StorageError):
    """A queue receipt whose lease expired or was already used."""


class AttachmentTooLarge(StorageError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"attachment of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class Storage(Protocol):
    """The whole storage surface. Implementations are async and safe for concurrent use."""

    async def open(self) -> None:
        """Connect and migrate; raises :class:`StorageUnavailable` when the store is unreachable."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the store answers now (readiness)."""

    # -- claims ---------------------------------------------------------------------------
    async def allocate_claim_id(self, year: int) -> str:
        """A fresh ``BX-YYYY-NNNNNN`` id, never handed out twice even under concurrency."""

    async def get_claim(self, claim_id: str) -> Claim | None: ...

    async def claims_by_applicant(
        self, platform: str, user_id: str, limit: int = 20
    ) -> list[Claim]:
        """Newest first."""

    async def claims_pending_for(self, platform: str, user_id: str, limit: int = 20) -> list[Claim]:
        """Claims whose current step waits for this approver, oldest first."""

    async def claims_by_status(self, status: ClaimStatus, limit: int = 100) -> list[Claim]:
        """Oldest change first."""

    async def claims_by_date(self, start: date, end: date, limit: int = 100) -> list[Claim]:
        """Claims created between ``start`` and ``end`` inclusive (UTC dates), oldest first."""

    async def commit(self, change: Commit) -> None:
        """Apply ``change`` atomically; raises VersionConflict, InvoiceInUse, StaleReceipt."""

    async def audit_trail(self, claim_id: str) -> list[AuditEntry]:
        """The claim's audit entries in the order they were written."""

    async def invoice_holder(self, invoice_key: str) -> str | None:
        """The id of the live claim holding ``invoice_key``, if any."""

    # -- cards ----------------------------------------------------------------------------
    async def add_card_copy(self, copy: CardCopy) -> None: ...

    async def card_copies(self, claim_id: str) -> list[CardCopy]: ...

    # -- conversations --------------------------------------------------------------------
    async def get_conversation(self, key: str) -> dict[str, Any] | None: ...

    # -- dedup ----------------------------------------------------------------------------
    async def mark_seen(self, platform: str, key: str, ttl: float) -> bool:
        """Record ``(platform, key)``; True for exactly one caller until ``ttl`` seconds pass."""

    # -- the durable queue ----------------------------------------------------------------
    async def put_inbound(
        self,
        platform: str,
        event_id: str,
        key: str,
        payload: dict[str, Any],
        dedup_ttl: float,
        lease_for: float = 0.0,
    ) -> str | None:
        """Dedup and enqueue an inbound event at once; None (nothing queued) on a repeat.

        A new event gives ``""``; with ``lease_for`` > 0 and the row first in line for its key,
        it gives instead the receipt of a lease on the row for ``lease_for`` seconds, so the
        caller can handle the event at once and consume the row in its commit. Test the result
        with ``is None``: ``""`` is a new event too.
        """

    async def enqueue(self, topic: str, key: str, payload: dict[str, Any], delay: float = 0) -> str:
        """Queue one row outside a claim change (e.g. a reminder); returns its id."""

    async def lease(self, topic: str, limit: int, visibility: float) -> list[Leased]:
        """Lease due rows, at most one per key and only the oldest live row of each key."""

    async def ack(self, receipt: str) -> None: ...

    async def retry(self, receipt: str, delay: float, error: str) -> None: ...

    async def dead_letter(self, receipt: str, error: str) -> None: ...

    async def hasten(self, topic: str) -> int:
        """Make every retried row of ``topic`` still waiting out its delay due now; how many.

        A row counts when it is live, not leased, attempted before and not yet due; its
        attempts stay as they were. Rows never attempted keep their delay (a reminder queued
        for later is not a retry), and each key's rows still go out in order.
        """

    async def queue_rows(
        self, topic: str | None, dead: bool, limit: int = 100
    ) -> list[QueueMessage]:
        """For operators: live (``dead=False``) or dead-lettered rows, oldest first."""

    async def requeue(self, message_id: str) -> bool:
        """Bring a dead row back to the live queue, due now; False when there is no such row."""

    async def drop(self, message_id: str) -> bool:
        """Delete a row (live or dead) for good; False when there is no such row."""

    async def queue_depth(self) -> dict[str, tuple[int, int]]:
        """Per topic: (live rows, dead rows)."""

    # -- attachments ----------------------------------------------------------------------
    async def put_attachment(
        self, data: bytes, content_type: str, filename: str = ""
    ) -> Attachment:
        """Store bytes under their sha256; raises AttachmentTooLarge past the limit."""

    async def get_attachment(self, attachment_id: str) -> tuple[Attachment, bytes] | None: ...

    # -- leases (work that must run once across instances) --------------------------------
    async def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        """Take or renew the named lease; False while someone else holds it."""

    async def release_lease(self, name: str, owner: str) -> None: ...
