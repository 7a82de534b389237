"""How a :class:`~storage.models.Commit` lands in SQLite, inside the caller's transaction.

Every check that can refuse the commit raises from here; the caller rolls back, so a refused
commit leaves no trace.
"""

from __future__ import annotations

from storage import sqlite_queue as queue
from storage.audit_chain import ChainHead, chain_all, fold
from storage.base import ClaimNotFound, InvoiceInUse, VersionConflict
from storage.common import ClaimRow, check_message, claim_row, dumps, loads_object
from storage.models import AuditEntry, Commit, ConversationWrite, audit_from_dict, audit_to_dict
from storage.sqlite_schema import TxConn, first_row


async def apply_commit(conn: TxConn, change: Commit, now: float) -> None:
    if change.consume:
        await queue.ack(conn, change.consume, now=now)
    for write in change.claims:
        await _write_claim(conn, claim_row(write.claim), write.expected_version)
    if change.audit:
        await _append_audit(conn, change.audit)
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


async def _append_audit(conn: TxConn, entries: list[AuditEntry]) -> None:
    """Chain the entries after their claims' heads; the write transaction serialises writers."""
    heads = {cid: await read_head(conn, cid) for cid in dict.fromkeys(e.claim_id for e in entries)}
    chained, moved = chain_all(entries, heads)
    await conn.executemany(
        "INSERT INTO audit (claim_id, doc) VALUES (?, ?)",
        [(e.claim_id, dumps(audit_to_dict(e), "audit entry")) for e in chained],
    )
    await conn.executemany(
        "INSERT INTO audit_heads (claim_id, entries, hash) VALUES (?, ?, ?) ON CONFLICT"
        " (claim_id) DO UPDATE SET entries = excluded.entries, hash = excluded.hash",
        [(claim_id, head.entries, head.hash) for claim_id, head in moved.items()],
    )


async def read_head(conn: TxConn, claim_id: str) -> ChainHead:
    found = await first_row(
        conn, "SELECT entries, hash FROM audit_heads WHERE claim_id = ?", (claim_id,)
    )
    if found is not None:
        return ChainHead(int(found[0]), str(found[1]))
    # No head yet: a new claim, or entries written before chaining, which the chain folds in.
    return fold(await stored_trail(conn, claim_id))


async def stored_trail(conn: TxConn, claim_id: str) -> list[AuditEntry]:
    rows = await conn.execute_fetchall(
        "SELECT doc FROM audit WHERE claim_id = ? ORDER BY seq", (claim_id,)
    )
    return [audit_from_dict(loads_object(row[0], "audit entry")) for row in rows]


async def chain_snapshot(
    conn: TxConn, claim_id: str
) -> tuple[list[AuditEntry], ChainHead | None]:
    """A claim's entries and head record (call it inside one read transaction)."""
    entries = await stored_trail(conn, claim_id)
    found = await first_row(
        conn, "SELECT entries, hash FROM audit_heads WHERE claim_id = ?", (claim_id,)
    )
    return entries, None if found is None else ChainHead(int(found[0]), str(found[1]))


async def _write_claim(conn: TxConn, row: ClaimRow, expected: int | None) -> None:
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
    conn: TxConn, invoice_key: str, claim_id: str, now: float
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
    conn: TxConn, conversation: ConversationWrite, now: float
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
