"""How a :class:`~storage.models.Commit` lands in SQLite, inside the caller's transaction.

Every check that can refuse the commit raises from here; the caller rolls back, so a refused
commit leaves no trace.
"""

from __future__ import annotations

import aiosqlite

from storage import sqlite_queue as queue
from storage.base import ClaimNotFound, InvoiceInUse, VersionConflict
from storage.common import ClaimRow, check_message, claim_row, dumps
from storage.models import Commit, ConversationWrite, audit_to_dict
from storage.sqlite_schema import first_row


async def apply_commit(conn: aiosqlite.Connection, change: Commit, now: float) -> None:
    if change.consume:
        await queue.ack(conn, change.consume, now=now)
    for write in change.claims:
        await _write_claim(conn, claim_row(write.claim), write.expected_version)
    for entry in change.audit:
        await conn.execute(
            "INSERT INTO audit (claim_id, doc) VALUES (?, ?)",
            (entry.claim_id, dumps(audit_to_dict(entry), "audit entry")),
        )
    for invoice_key, claim_id in change.invoice_releases:
        await conn.execute(
            "DELETE FROM invoices WHERE invoice_key = ? AND claim_id = ?", (invoice_key, claim_id)
        )
    for invoice_key, claim_id in change.invoice_locks:
        await _lock_invoice(conn, invoice_key, claim_id, now)
    for message in change.messages:
        body = check_message(message.topic, message.key, message.payload, message.delay)
        await queue.insert(conn, message.topic, message.key, body, now=now, delay=message.delay)
    for conversation in change.conversations:
        await _write_conversation(conn, conversation, now)


async def _write_claim(conn: aiosqlite.Connection, row: ClaimRow, expected: int | None) -> None:
    found = await first_row(conn, "SELECT version FROM claims WHERE id = ?", (row.id,))
    stored = int(found[0]) if found is not None else None
    values = (row.version, row.applicant, row.status, row.created_ts, row.updated_ts, row.doc)
    if expected is None:
        if stored is not None:
            raise VersionConflict(row.id, None, stored)
        await conn.execute(
            "INSERT INTO claims (version, applicant, status, created_ts, updated_ts, doc, id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*values, row.id),
        )
    else:
        if stored is None:
            raise ClaimNotFound(row.id)
        if stored != expected or row.version <= expected:
            raise VersionConflict(row.id, expected, stored)
        await conn.execute(
            "UPDATE claims SET version = ?, applicant = ?, status = ?, created_ts = ?,"
            " updated_ts = ?, doc = ? WHERE id = ?",
            (*values, row.id),
        )
        await conn.execute("DELETE FROM pending_approvals WHERE claim_id = ?", (row.id,))
    if row.pending:
        await conn.executemany(
            "INSERT INTO pending_approvals (approver, created_ts, claim_id) VALUES (?, ?, ?)",
            [(approver, row.created_ts, row.id) for approver in row.pending],
        )


async def _lock_invoice(
    conn: aiosqlite.Connection, invoice_key: str, claim_id: str, now: float
) -> None:
    found = await first_row(
        conn, "SELECT claim_id FROM invoices WHERE invoice_key = ?", (invoice_key,)
    )
    if found is None:
        await conn.execute(
            "INSERT INTO invoices (invoice_key, claim_id, locked_at) VALUES (?, ?, ?)",
            (invoice_key, claim_id, now),
        )
    elif found[0] != claim_id:
        raise InvoiceInUse(invoice_key, str(found[0]))


async def _write_conversation(
    conn: aiosqlite.Connection, conversation: ConversationWrite, now: float
) -> None:
    if conversation.state is None:
        await conn.execute("DELETE FROM conversations WHERE key = ?", (conversation.key,))
        return
    await conn.execute(
        "INSERT INTO conversations (key, state, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (key) DO UPDATE SET state = excluded.state,"
        " expires_at = excluded.expires_at",
        (conversation.key, dumps(conversation.state, "conversation state"), now + conversation.ttl),
    )
