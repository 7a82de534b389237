"""The durable queue on SQLite: statements run on a connection inside the caller's transaction.

``due_at`` is when a row may next be leased: its ``available_at`` while it waits, and the end of
its lease while a worker holds it, so "due and not leased" is one indexed comparison. ``head``
marks the first live row of each (topic, key): only a head may be leased, which keeps each key's
rows in order. Every statement that adds, removes or kills a row keeps exactly one head per key
with live rows, so a lease reads the due heads from a partial index whatever the backlog.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from storage.base import TOPICS, StaleReceipt
from storage.common import new_message_id, new_receipt_token, queue_message, receipt_message_id
from storage.models import Leased, QueueMessage
from storage.sqlite_schema import TxConn, first_row

_COLUMNS = "id, topic, key, payload, created_at, available_at, attempts, last_error, dedup"

_LEASABLE = f"""
    SELECT seq, {_COLUMNS} FROM queue INDEXED BY queue_due_heads
    WHERE topic = ? AND head = 1 AND due_at <= ?
    ORDER BY due_at, seq LIMIT ?
"""  # noqa: S608 - only the fixed column list is interpolated

# A row's own statement decides whether it heads its key: no live row of the key before it.
_INSERT = """
    INSERT INTO queue (id, topic, key, payload, created_at, available_at, due_at, attempts,
                       last_error, dedup, head)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
            NOT EXISTS (SELECT 1 FROM queue WHERE topic = ? AND key = ? AND dead = 0))
"""
_PROMOTE = """
    UPDATE queue SET head = 1 WHERE seq = (
        SELECT MIN(seq) FROM queue WHERE topic = ? AND key = ? AND dead = 0)
"""
_SELECT_DEAD = f"SELECT {_COLUMNS} FROM queue WHERE id = ? AND dead = 1"  # noqa: S608


def _fields(row: sqlite3.Row) -> dict[str, Any]:
    return {name: row[name] for name in row.keys()}  # noqa: SIM118 - sqlite3.Row has no __iter__ keys


async def insert(
    conn: TxConn,
    topic: str,
    key: str,
    payload: str,
    *,
    now: float,
    delay: float,
    dedup: str = "",
) -> str:
    message_id = new_message_id()
    await conn.execute(
        _INSERT,
        (message_id, topic, key, payload, now, now + delay, now + delay, 0, "", dedup, topic, key),
    )
    return message_id


async def _remove(conn: TxConn, seq: int, *, dead: bool) -> None:
    """Delete row ``seq`` (or mark it dead); if it headed its key, the next live row does."""
    found = await first_row(conn, "SELECT topic, key, head FROM queue WHERE seq = ?", (seq,))
    if found is None:
        return
    if dead:
        await conn.execute("UPDATE queue SET dead = 1, head = 0 WHERE seq = ?", (seq,))
    else:
        await conn.execute("DELETE FROM queue WHERE seq = ?", (seq,))
    if found["head"]:
        await conn.execute(_PROMOTE, (found["topic"], found["key"]))


async def lease(
    conn: TxConn, topic: str, limit: int, *, now: float, visibility: float
) -> list[Leased]:
    rows = list(await conn.execute_fetchall(_LEASABLE, (topic, now, limit)))
    token = new_receipt_token()
    leased: list[Leased] = []
    for row in rows:
        fields = _fields(row)
        receipt = f"{fields['id']}.{token}"
        fields["attempts"] += 1
        await conn.execute(
            "UPDATE queue SET receipt = ?, leased_until = ?, due_at = ?, attempts = ?"
            " WHERE seq = ?",
            (receipt, now + visibility, now + visibility, fields["attempts"], fields["seq"]),
        )
        leased.append(Leased(message=queue_message(fields), receipt=receipt))
    return leased


async def lease_new(
    conn: TxConn, message_id: str, *, now: float, visibility: float
) -> str:
    """Lease a row just queued if it is first in line for its key; its receipt, else ""."""
    head = await first_row(conn, "SELECT seq FROM queue WHERE id = ? AND head = 1", (message_id,))
    if head is None:
        return ""
    receipt = f"{message_id}.{new_receipt_token()}"
    await conn.execute(
        "UPDATE queue SET receipt = ?, leased_until = ?, due_at = ?, attempts = attempts + 1"
        " WHERE seq = ?",
        (receipt, now + visibility, now + visibility, head[0]),
    )
    return receipt


async def _held(conn: TxConn, receipt: str, now: float) -> int:
    """The seq of the row ``receipt`` holds a live lease on; StaleReceipt otherwise."""
    message_id = receipt_message_id(receipt)
    if message_id is not None:
        row = await first_row(
            conn,
            "SELECT seq FROM queue WHERE id = ? AND receipt = ? AND leased_until > ? AND dead = 0",
            (message_id, receipt, now),
        )
        if row is not None:
            return int(row[0])
    raise StaleReceipt(f"receipt {receipt!r} is unknown, already used or its lease expired")


async def ack(conn: TxConn, receipt: str, *, now: float) -> None:
    await _remove(conn, await _held(conn, receipt, now), dead=False)


async def retry(
    conn: TxConn, receipt: str, *, now: float, delay: float, error: str
) -> None:
    seq = await _held(conn, receipt, now)
    await conn.execute(
        "UPDATE queue SET receipt = NULL, leased_until = 0, available_at = ?, due_at = ?,"
        " last_error = ? WHERE seq = ?",
        (now + delay, now + delay, error, seq),
    )


async def hasten(conn: TxConn, topic: str, *, now: float) -> int:
    """Make the retried rows of ``topic`` that wait out a delay due now; how many there were.

    Only heads are looked at, from the same partial index as a lease: a row is attempted only
    while it heads its key and stays the head until it leaves, so every attempted live row is
    one. Leased rows (``leased_until`` ahead) and never attempted ones keep their due time.
    """
    cursor = await conn.execute(
        "UPDATE queue INDEXED BY queue_due_heads SET available_at = ?, due_at = ?"
        " WHERE topic = ? AND head = 1 AND due_at > ? AND attempts > 0 AND leased_until <= ?",
        (now, now, topic, now, now),
    )
    return int(cursor.rowcount)


async def dead_letter(conn: TxConn, receipt: str, *, now: float, error: str) -> None:
    seq = await _held(conn, receipt, now)
    await conn.execute(
        "UPDATE queue SET receipt = NULL, leased_until = 0, last_error = ? WHERE seq = ?",
        (error, seq),
    )
    await _remove(conn, seq, dead=True)


async def rows(
    conn: TxConn, topic: str | None, dead: bool, limit: int
) -> list[QueueMessage]:
    topics = TOPICS if topic is None else (topic,)
    marks = ", ".join("?" for _ in topics)
    found = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM queue WHERE dead = ? AND topic IN ({marks})"  # noqa: S608
        " ORDER BY seq LIMIT ?",
        (int(dead), *topics, limit),
    )
    return [queue_message(_fields(row)) for row in found]


async def requeue(conn: TxConn, message_id: str, *, now: float) -> bool:
    row = await first_row(conn, _SELECT_DEAD, (message_id,))
    if row is None:
        return False
    # A fresh seq puts the row behind its key's live rows, so per-key order stays intact.
    fields = _fields(row)
    await conn.execute("DELETE FROM queue WHERE id = ?", (message_id,))
    topic, key = fields["topic"], fields["key"]
    await conn.execute(
        _INSERT,
        (message_id, topic, key, fields["payload"], fields["created_at"], now, now, 0,
         fields["last_error"], fields["dedup"], topic, key),
    )
    return True


async def drop(conn: TxConn, message_id: str) -> bool:
    found = await first_row(conn, "SELECT seq FROM queue WHERE id = ?", (message_id,))
    if found is None:
        return False
    await _remove(conn, int(found[0]), dead=False)
    return True


async def depth(conn: TxConn) -> dict[str, tuple[int, int]]:
    counts = {topic: [0, 0] for topic in TOPICS}
    found = await conn.execute_fetchall(
        "SELECT topic, dead, COUNT(*) FROM queue GROUP BY topic, dead"
    )
    for topic, dead, count in found:
        if topic in counts:
            counts[topic][1 if dead else 0] = count
    return {topic: (live, dead) for topic, (live, dead) in counts.items()}
