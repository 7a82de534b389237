"""The durable queue on SQLite: statements run on a connection inside the caller's transaction.

``due_at`` is when a row may next be leased: its ``available_at`` while it waits, and the end of
its lease while a worker holds it, so "due and not leased" is one indexed comparison.
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
    SELECT seq, {_COLUMNS} FROM queue AS q
    WHERE q.topic = ? AND q.dead = 0 AND q.due_at <= ?
      AND q.seq = (SELECT MIN(h.seq) FROM queue AS h
                   WHERE h.topic = q.topic AND h.key = q.key AND h.dead = 0)
    ORDER BY q.due_at, q.seq LIMIT ?
"""  # noqa: S608 - only the fixed column list is interpolated


_HEAD = """
    SELECT q.seq FROM queue AS q WHERE q.id = ? AND q.seq = (
        SELECT MIN(h.seq) FROM queue AS h WHERE h.topic = q.topic AND h.key = q.key AND h.dead = 0)
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
        "INSERT INTO queue (id, topic, key, payload, created_at, available_at, due_at, dedup)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (message_id, topic, key, payload, now, now + delay, now + delay, dedup),
    )
    return message_id


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
    head = await first_row(conn, _HEAD, (message_id,))
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
    if receipt_message_id(receipt) is not None:
        row = await first_row(
            conn,
            "SELECT seq FROM queue WHERE receipt = ? AND leased_until > ? AND dead = 0",
            (receipt, now),
        )
        if row is not None:
            return int(row[0])
    raise StaleReceipt(f"receipt {receipt!r} is unknown, already used or its lease expired")


async def ack(conn: TxConn, receipt: str, *, now: float) -> None:
    seq = await _held(conn, receipt, now)
    await conn.execute("DELETE FROM queue WHERE seq = ?", (seq,))


async def retry(
    conn: TxConn, receipt: str, *, now: float, delay: float, error: str
) -> None:
    seq = await _held(conn, receipt, now)
    await conn.execute(
        "UPDATE queue SET receipt = NULL, leased_until = 0, available_at = ?, due_at = ?,"
        " last_error = ? WHERE seq = ?",
        (now + delay, now + delay, error, seq),
    )


async def dead_letter(conn: TxConn, receipt: str, *, now: float, error: str) -> None:
    seq = await _held(conn, receipt, now)
    await conn.execute(
        "UPDATE queue SET receipt = NULL, leased_until = 0, dead = 1, last_error = ? WHERE seq = ?",
        (error, seq),
    )


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
    await conn.execute(
        "INSERT INTO queue (id, topic, key, payload, created_at, available_at, due_at,"
        " attempts, last_error, dedup) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        (
            message_id,
            fields["topic"],
            fields["key"],
            fields["payload"],
            fields["created_at"],
            now,
            now,
            fields["last_error"],
            fields["dedup"],
        ),
    )
    return True


async def drop(conn: TxConn, message_id: str) -> bool:
    cursor = await conn.execute("DELETE FROM queue WHERE id = ?", (message_id,))
    return cursor.rowcount > 0


async def depth(conn: TxConn) -> dict[str, tuple[int, int]]:
    counts = {topic: [0, 0] for topic in TOPICS}
    found = await conn.execute_fetchall(
        "SELECT topic, dead, COUNT(*) FROM queue GROUP BY topic, dead"
    )
    for topic, dead, count in found:
        if topic in counts:
            counts[topic][1 if dead else 0] = count
    return {topic: (live, dead) for topic, (live, dead) in counts.items()}
