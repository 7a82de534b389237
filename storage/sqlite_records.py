"""SQLite's small records: card copies, dedup marks, inbound events, attachments and once-only
leases, each written by statements that run inside the caller's transaction."""

from __future__ import annotations

import sqlite3

from storage import sqlite_queue as queue
from storage.models import CardCopy
from storage.sqlite_schema import TxConn, first_row


async def put_card_copy(conn: TxConn, copy: CardCopy, doc: str) -> None:
    """Add ``copy``; one with the same ``copy_id`` is replaced in place."""
    if copy.copy_id:
        cursor = await conn.execute(
            "UPDATE card_copies SET doc = ? WHERE claim_id = ? AND copy_id = ?",
            (doc, copy.claim_id, copy.copy_id),
        )
        if cursor.rowcount:
            return
    await conn.execute(
        "INSERT INTO card_copies (claim_id, copy_id, doc) VALUES (?, ?, ?)",
        (copy.claim_id, copy.copy_id, doc),
    )


async def mark_seen(
    conn: TxConn, platform: str, key: str, ttl: float, *, now: float, purge: bool
) -> bool:
    """True for the first sighting of ``key`` within ``ttl``; ``purge`` also sweeps expired
    dedup marks and conversations."""
    if purge:
        await conn.execute("DELETE FROM seen WHERE expires_at <= ?", (now,))
        await conn.execute("DELETE FROM conversations WHERE expires_at <= ?", (now,))
    cursor = await conn.execute(
        "INSERT INTO seen (platform, key, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (platform, key) DO UPDATE SET expires_at = excluded.expires_at"
        " WHERE seen.expires_at <= ?",
        (platform, key, now + ttl, now),
    )
    return cursor.rowcount > 0


async def put_inbound(
    conn: TxConn, platform: str, event_id: str, key: str, body: str, *, ttl: float,
    lease_for: float, now: float, purge: bool,
) -> str | None:
    """Dedup and queue an event: None for a repeat, else its receipt when ``lease_for`` asks
    for it (and it is first in line for its key) or ""."""
    if not await mark_seen(conn, platform, event_id, ttl, now=now, purge=purge):
        return None
    message_id = await queue.insert(
        conn, "inbound", key, body, now=now, delay=0, dedup=f"{platform}:{event_id}"
    )
    if lease_for > 0:
        return await queue.lease_new(conn, message_id, now=now, visibility=lease_for)
    return ""


async def put_attachment(
    conn: TxConn, digest: str, blob: bytes, content_type: str, filename: str
) -> sqlite3.Row | None:
    """Store a blob under its digest (once) and read back what is kept."""
    await conn.execute(
        "INSERT INTO attachments (id, size, content_type, filename, data)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        (digest, len(blob), content_type, filename, blob),
    )
    return await first_row(
        conn, "SELECT size, content_type, filename FROM attachments WHERE id = ?", (digest,)
    )


async def acquire_lease(conn: TxConn, name: str, owner: str, ttl: float, *, now: float) -> bool:
    cursor = await conn.execute(
        "INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner,"
        " expires_at = excluded.expires_at"
        " WHERE leases.owner = excluded.owner OR leases.expires_at <= ?",
        (name, owner, now + ttl, now),
    )
    return cursor.rowcount > 0
