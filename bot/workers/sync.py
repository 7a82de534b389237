"""The "backend" topic: deliver each claim outcome to the reimbursement backend, in order.

Rows are written by ``handlers.common.save`` in the same transaction as the claim change and
carry the claim as it was (``{"event", "claim", "version"}``). The queue leases one row per
claim at a time, oldest first, so one claim's events reach the backend in the order they
happened; a row waiting for a retry holds back the later rows of its claim only.
Transient failures are retried with exponential backoff and full jitter (the backend's
``Retry-After`` wins); a refusal dead-letters the row with the backend's answer, for an
operator to ``claimbot outbox retry`` or ``drop``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.backends.base import (
    Backend,
    PermanentBackendError,
    SyncEvent,
    TransientBackendError,
)
from bot.backends.payload import trail_upto
from bot.workers.queue_loop import Outcome, Permanent, QueueLoop, QueuePolicy
from storage.base import Storage
from storage.models import Attachment, Claim, Leased, ModelError, claim_from_dict

log = logging.getLogger("claimbot.sync")

# An outage of a few hours is survived: 25 attempts with delays capped at ten minutes. The
# first success after it makes the rows still waiting due, so they do not trail by minutes.
SYNC_POLICY = QueuePolicy("backend", batch=16, visibility=45.0, max_attempts=25,
                          retry_base=2.0, retry_cap=600.0, hasten_on_recovery=True)


def lease_for(timeout: float) -> float:
    """How long a row stays leased: a few backend calls' worth, so a crashed worker's rows come
    back soon, and a live one's never do while it still waits for an answer."""
    return 4 * timeout + 5


class SyncHandler:
    def __init__(self, storage: Storage, backend: Backend) -> None:
        self._storage = storage
        self._backend = backend

    async def __call__(self, row: Leased) -> None:
        event = await self.event_of(row.message.payload)
        try:
            await self._backend.deliver(event)
        except TransientBackendError:
            raise
        except PermanentBackendError as exc:
            raise Permanent(str(exc)) from exc
        await self._storage.ack(row.receipt)
        log.info("synced %s", event.idempotency_key)

    async def event_of(self, payload: dict[str, Any]) -> SyncEvent:
        """The event a row describes: its snapshot, the trail up to it, attachment metadata."""
        name = payload.get("event")
        if not isinstance(name, str) or not name:
            raise Permanent(f"backend row without an event: {sorted(payload)}")
        claim = await self._claim_of(payload)
        trail = trail_upto(await self._storage.audit_trail(claim.id), claim.version)
        attachments: dict[str, Attachment] = {}
        for attachment_id in sorted({a for item in claim.items for a in item.attachments}):
            found = await self._storage.get_attachment(attachment_id)
            if found is not None:
                attachments[attachment_id] = found[0]
        return SyncEvent(name, claim, trail, attachments)

    async def _claim_of(self, payload: dict[str, Any]) -> Claim:
        snapshot = payload.get("claim")
        if isinstance(snapshot, dict):
            try:
                return claim_from_dict(snapshot)
            except ModelError as exc:
                raise Permanent(str(exc)) from exc
        # A row written before rows carried the snapshot: usable only while the claim is
        # still at that version, since a later version would report the wrong state.
        claim_id, version = payload.get("claim_id"), payload.get("version")
        claim = await self._storage.get_claim(claim_id) if isinstance(claim_id, str) else None
        if claim is None or claim.version != version:
            raise Permanent(f"backend row has no claim snapshot and {claim_id} moved on")
        return claim


def sync_loop(
    storage: Storage, backend: Backend, record: Outcome, timeout: float = 10.0
) -> QueueLoop:
    policy = replace(SYNC_POLICY, visibility=lease_for(timeout))
    return QueueLoop(storage, policy, SyncHandler(storage, backend), record)
