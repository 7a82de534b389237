"""The embedded default backend: one SQLite file in WAL mode, driven through aiosqlite.

One connection serves the process. Each transaction is one trip to aiosqlite's thread: its
statements run there back to back (:func:`~storage.sqlite_schema.run_inline`), and that thread
takes one call at a time, in order, so no statement of another coroutine can land inside a
transaction and a reader never sees one half done. (Awaiting aiosqlite for each statement cost
a thread hop and an event-loop wake-up apiece, and needed a lock held across them; calls now
queue on the thread without one: bench/ingest.py has the before and after.) Writes that arrive
while one is in the thread go together as one group commit (:mod:`storage.sqlite_group`), and
the WAL is copied back into the file in the background (:mod:`storage.sqlite_checkpoint`). The
``asyncio.Lock`` only orders :meth:`open` and :meth:`close`. Writes use ``BEGIN IMMEDIATE`` so
that a second process on the same file waits (``busy_timeout``) instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import asynccontextmanager
from datetime import date
from functools import partial
from typing import Any, TypeVar, cast

import aiosqlite

from storage import sqlite_queue as queue
from storage import sqlite_records as records
from storage.audit_chain import ChainHead
from storage.base import (
    DEFAULT_ATTACHMENT_LIMIT,
    StorageError,
    StorageUnavailable,
)
from storage.common import (
    card_copy_from_json,
    check_attachment,
    check_card_copy,
    check_commit,
    check_message,
    day_range,
    free_text,
    loads_object,
    require_attachment_id,
    require_claim_id,
    require_limit,
    require_non_negative,
    require_positive,
    require_status,
    require_text,
    require_topic,
    require_year,
    user_key,
)
from storage.grouping import Grouper, Outcome
from storage.models import (
    Attachment,
    AuditEntry,
    CardCopy,
    Claim,
    ClaimStatus,
    Commit,
    Leased,
    QueueMessage,
    audit_from_dict,
    format_claim_id,
)
from storage.sqlite_checkpoint import BACKSTOP_PAGES, WalCheckpointer
from storage.sqlite_group import run_group
from storage.sqlite_schema import (
    TxConn,
    decode_claim,
    first_row,
    mapped_error,
    migrate,
    run_inline,
)
from storage.sqlite_writes import apply_commit, chain_snapshot

T = TypeVar("T")
Body = Callable[[TxConn], Coroutine[Any, Any, T]]

BUSY_TIMEOUT_MS = 5000
_PURGE_EVERY = 1000  # mark_seen calls between sweeps of expired dedup and conversation rows


class SqliteStorage:
    def __init__(
        self,
        path: str,
        *,
        clock: Callable[[], float] = time.time,
        attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT,
    ) -> None:
        self._path = require_text("sqlite path", path)
        self._clock = clock
        self._attachment_limit = int(require_positive("attachment limit", attachment_limit))
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._seen_calls = 0
        self._writer: Grouper[Body[Any]] = Grouper(self._write_group, "SQLite writer")
        self._checkpointer: WalCheckpointer | None = None

    # -- lifecycle ------------------------------------------------------------------------
    async def open(self) -> None:
        async with self._lock:
            if self._conn is None:
                self._conn = await self._connect()
                self._checkpointer = WalCheckpointer(self._path)
                self._checkpointer.start()

    async def _connect(self) -> aiosqlite.Connection:
        try:
            # Probe with plain sqlite3 first: aiosqlite leaves its worker thread behind when the
            # connect itself fails, and that thread later trips over the closed event loop.
            await asyncio.to_thread(_probe, self._path)
            conn = await aiosqlite.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open SQLite database {self._path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")
            await migrate(conn, self._path)
        except BaseException as exc:
            await conn.close()
            if isinstance(exc, sqlite3.Error):
                raise StorageUnavailable(f"cannot use SQLite database {self._path}: {exc}") from exc
            raise
        return conn

    async def close(self) -> None:
        async with self._lock:
            await self._writer.settle()
            checkpointer, self._checkpointer = self._checkpointer, None
            if checkpointer is not None:
                await checkpointer.close()
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()

    async def ping(self) -> bool:
        try:
            async with self._reading() as conn:
                await conn.execute_fetchall("SELECT 1")
        except StorageError:
            return False
        return True

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = self._conn
        if conn is None:
            raise StorageUnavailable("SQLite storage is not open")
        try:
            yield conn
        except sqlite3.Error as exc:
            raise mapped_error(exc) from exc
        except ValueError as exc:
            if self._conn is conn:
                raise
            # aiosqlite's "Connection closed": close() ran while this call waited.
            raise StorageUnavailable("SQLite storage was closed") from exc

    async def _inline(self, body: Body[T], begin: str) -> T:
        """``body`` in one transaction, run whole in aiosqlite's thread (one trip)."""
        async with self._reading() as conn:
            thread = cast(Any, conn)  # aiosqlite's own way to run a function on its thread
            result: T = await thread._execute(run_inline, thread._conn, begin, body)
            return result

    async def _write(self, body: Body[T]) -> T:
        try:
            result: T = await self._writer.call(body)
            return result
        except sqlite3.Error as exc:
            raise mapped_error(exc) from exc

    async def _write_group(self, bodies: list[Body[Any]]) -> list[Outcome]:
        async with self._reading() as conn:
            thread = cast(Any, conn)
            outcomes: list[Outcome] = await thread._execute(run_group, thread._conn, bodies)
        if self._checkpointer is not None:
            self._checkpointer.wrote()
        return outcomes

    async def _rows(self, sql: str, params: Iterable[Any]) -> list[sqlite3.Row]:
        async with self._reading() as conn:
            return list(await conn.execute_fetchall(sql, tuple(params)))

    # -- claims ---------------------------------------------------------------------------
    async def allocate_claim_id(self, year: int) -> str:
        require_year(year)
        row = await self._write(partial(
            first_row,
            sql="INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name)"
            " DO UPDATE SET value = value + 1 RETURNING value",
            params=(f"claim:{year}",),
        ))
        if row is None:
            raise StorageError(f"the claim counter for {year} returned nothing")
        return format_claim_id(year, int(row[0]))

    async def get_claim(self, claim_id: str) -> Claim | None:
        require_claim_id(claim_id)
        found = await self._rows("SELECT doc FROM claims WHERE id = ?", (claim_id,))
        return decode_claim(found[0]["doc"]) if found else None

    async def claims_by_applicant(
        self, platform: str, user_id: str, limit: int = 20
    ) -> list[Claim]:
        found = await self._rows(
            "SELECT doc FROM claims WHERE applicant = ? ORDER BY created_ts DESC, id DESC LIMIT ?",
            (user_key(platform, user_id), require_limit(limit)),
        )
        return [decode_claim(row["doc"]) for row in found]

    async def claims_pending_for(self, platform: str, user_id: str, limit: int = 20) -> list[Claim]:
        found = await self._rows(
            "SELECT c.doc FROM pending_approvals AS p JOIN claims AS c ON c.id = p.claim_id"
            " WHERE p.approver = ? ORDER BY p.created_ts, p.claim_id LIMIT ?",
            (user_key(platform, user_id), require_limit(limit)),
        )
        return [decode_claim(row["doc"]) for row in found]

    async def claims_by_status(self, status: ClaimStatus, limit: int = 100) -> list[Claim]:
        found = await self._rows(
            "SELECT doc FROM claims WHERE status = ? ORDER BY updated_ts, id LIMIT ?",
            (require_status(status), require_limit(limit)),
        )
        return [decode_claim(row["doc"]) for row in found]

    async def claims_by_date(self, start: date, end: date, limit: int = 100) -> list[Claim]:
        low, high = day_range(start, end)
        found = await self._rows(
            "SELECT doc FROM claims WHERE created_ts >= ? AND created_ts < ?"
            " ORDER BY created_ts, id LIMIT ?",
            (low, high, require_limit(limit)),
        )
        return [decode_claim(row["doc"]) for row in found]

    async def commit(self, change: Commit) -> None:
        check_commit(change)
        if change.empty:
            return
        now = self._clock()
        await self._write(partial(apply_commit, change=change, now=now))

    async def audit_trail(self, claim_id: str) -> list[AuditEntry]:
        found = await self._rows(
            "SELECT doc FROM audit WHERE claim_id = ? ORDER BY seq", (require_claim_id(claim_id),)
        )
        return [audit_from_dict(loads_object(row["doc"], "audit entry")) for row in found]

    async def audit_claim_ids(self) -> list[str]:
        found = await self._rows(
            "SELECT claim_id FROM audit UNION SELECT claim_id FROM audit_heads ORDER BY 1", ()
        )
        return [str(row[0]) for row in found]

    async def audit_chain(self, claim_id: str) -> tuple[list[AuditEntry], ChainHead | None]:
        require_claim_id(claim_id)
        return await self._inline(partial(chain_snapshot, claim_id=claim_id), "BEGIN")

    async def invoice_holder(self, invoice_key: str) -> str | None:
        found = await self._rows(
            "SELECT claim_id FROM invoices WHERE invoice_key = ?",
            (require_text("invoice key", invoice_key),),
        )
        return str(found[0]["claim_id"]) if found else None

    # -- cards ----------------------------------------------------------------------------
    async def add_card_copy(self, copy: CardCopy) -> None:
        doc = check_card_copy(copy)
        await self._write(partial(records.put_card_copy, copy=copy, doc=doc))

    async def card_copies(self, claim_id: str) -> list[CardCopy]:
        found = await self._rows(
            "SELECT doc FROM card_copies WHERE claim_id = ? ORDER BY seq",
            (require_claim_id(claim_id),),
        )
        return [card_copy_from_json(row["doc"]) for row in found]

    # -- conversations and dedup ----------------------------------------------------------
    async def get_conversation(self, key: str) -> dict[str, Any] | None:
        found = await self._rows(
            "SELECT state FROM conversations WHERE key = ? AND expires_at > ?",
            (require_text("conversation key", key), self._clock()),
        )
        return loads_object(found[0]["state"], "conversation") if found else None

    async def mark_seen(self, platform: str, key: str, ttl: float) -> bool:
        require_text("platform", platform)
        require_text("dedup key", key)
        require_positive("ttl", ttl)
        return await self._write(partial(records.mark_seen, platform=platform, key=key, ttl=ttl,
                                         now=self._clock(), purge=self._purge_due()))

    def _purge_due(self) -> bool:
        """Every ``_PURGE_EVERY`` dedup marks, sweep the expired ones (and conversations)."""
        self._seen_calls += 1
        return self._seen_calls % _PURGE_EVERY == 0

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
        require_text("platform", platform)
        require_text("event id", event_id)
        require_positive("dedup ttl", dedup_ttl)
        require_non_negative("lease_for", lease_for)
        body = check_message("inbound", key, payload, 0)
        return await self._write(partial(
            records.put_inbound, platform=platform, event_id=event_id, key=key, body=body,
            ttl=dedup_ttl, lease_for=lease_for, now=self._clock(), purge=self._purge_due(),
        ))

    async def enqueue(self, topic: str, key: str, payload: dict[str, Any], delay: float = 0) -> str:
        body = check_message(topic, key, payload, delay)
        return await self._write(partial(
            queue.insert, topic=topic, key=key, payload=body, now=self._clock(), delay=delay
        ))

    async def lease(self, topic: str, limit: int, visibility: float) -> list[Leased]:
        require_topic(topic)
        require_limit(limit)
        require_positive("visibility", visibility)
        return await self._write(partial(
            queue.lease, topic=topic, limit=limit, now=self._clock(), visibility=visibility
        ))

    async def ack(self, receipt: str) -> None:
        require_text("receipt", receipt)
        await self._write(partial(queue.ack, receipt=receipt, now=self._clock()))

    async def retry(self, receipt: str, delay: float, error: str) -> None:
        require_text("receipt", receipt)
        require_non_negative("delay", delay)
        await self._write(partial(
            queue.retry, receipt=receipt, now=self._clock(), delay=delay, error=free_text(error)
        ))

    async def dead_letter(self, receipt: str, error: str) -> None:
        require_text("receipt", receipt)
        await self._write(partial(
            queue.dead_letter, receipt=receipt, now=self._clock(), error=free_text(error)
        ))

    async def hasten(self, topic: str) -> int:
        require_topic(topic)
        return await self._write(partial(queue.hasten, topic=topic, now=self._clock()))

    async def queue_rows(
        self, topic: str | None, dead: bool, limit: int = 100
    ) -> list[QueueMessage]:
        if topic is not None:
            require_topic(topic)
        require_limit(limit)
        return await self._inline(partial(queue.rows, topic=topic, dead=bool(dead), limit=limit),
                                  "BEGIN")

    async def requeue(self, message_id: str) -> bool:
        require_text("message id", message_id)
        return await self._write(partial(queue.requeue, message_id=message_id, now=self._clock()))

    async def drop(self, message_id: str) -> bool:
        require_text("message id", message_id)
        return await self._write(partial(queue.drop, message_id=message_id))

    async def queue_depth(self) -> dict[str, tuple[int, int]]:
        return await self._inline(queue.depth, "BEGIN")

    # -- attachments ----------------------------------------------------------------------
    async def put_attachment(
        self, data: bytes, content_type: str, filename: str = ""
    ) -> Attachment:
        blob = check_attachment(data, content_type, self._attachment_limit)
        digest = hashlib.sha256(blob).hexdigest()
        kept = await self._write(partial(
            records.put_attachment, digest=digest, blob=blob, content_type=content_type,
            filename=free_text(filename),
        ))
        if kept is None:
            raise StorageError(f"attachment {digest} vanished while it was written")
        return Attachment(digest, kept["size"], kept["content_type"], kept["filename"])

    async def get_attachment(self, attachment_id: str) -> tuple[Attachment, bytes] | None:
        found = await self._rows(
            "SELECT id, size, content_type, filename, data FROM attachments WHERE id = ?",
            (require_attachment_id(attachment_id),),
        )
        if not found:
            return None
        row = found[0]
        attachment = Attachment(row["id"], row["size"], row["content_type"], row["filename"])
        return attachment, bytes(row["data"])

    # -- leases ---------------------------------------------------------------------------
    async def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        require_text("lease name", name)
        require_text("lease owner", owner)
        require_positive("ttl", ttl)
        return await self._write(partial(
            records.acquire_lease, name=name, owner=owner, ttl=ttl, now=self._clock()
        ))

    async def release_lease(self, name: str, owner: str) -> None:
        require_text("lease name", name)
        require_text("lease owner", owner)
        await self._write(partial(
            TxConn.execute, sql="DELETE FROM leases WHERE name = ? AND owner = ?",
            parameters=(name, owner),
        ))


def _probe(path: str) -> None:
    sqlite3.connect(path).close()
