"""The shared backend: one Redis (not a cluster) behind any number of claimbot instances.

Claims are hashes holding the JSON document plus the fields their sorted-set indexes need; every
change that must be atomic (a commit, a lease, dedup) runs as one Lua script from
``storage.redis_scripts``; script calls that queue while one pipeline is out share the next
(``storage.redis_group``). Times come from the injected clock, never from Redis, so both backends
agree on expiry; Redis key expiry only sweeps what the clock already retired.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage import redis_queue
from storage import redis_scripts as lua
from storage.audit_chain import ChainHead
from storage.base import (
    DEFAULT_ATTACHMENT_LIMIT,
    TOPICS,
    StaleReceipt,
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
    new_message_id,
    new_receipt_token,
    queue_message,
    receipt_message_id,
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
    format_claim_id,
)
from storage.redis_codec import (
    audit_plan,
    chain_heads,
    chain_snapshot,
    commit_plan,
    decode_claim,
    num,
    raise_refusal,
    stored_trail,
    text,
    ttl_ms,
)
from storage.redis_group import ScriptCall, run_group

_MSG_FIELDS = redis_queue.FIELDS
CHAIN_ATTEMPTS = 100  # commits racing on one claim's audit chain: each retry re-reads its head


POOL_SIZE = 64
POOL_WAIT = 10.0  # seconds a command may wait for a pooled connection


def _without_password(url: str) -> str:
    """``url`` with its password (``redis://:PASSWORD@host``) masked."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


class RedisStorage:
    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT,
        prefix: str = "claimbot:",
    ) -> None:
        self._url = require_text("redis url", url)
        self._shown = _without_password(self._url)  # for messages: they end up in logs
        self._clock = clock
        self._attachment_limit = int(require_positive("attachment limit", attachment_limit))
        self._prefix = require_text("key prefix", prefix)
        self._client: aioredis.Redis | None = None
        self._scripts: dict[str, AsyncScript] = {}
        self._caller: Grouper[ScriptCall] = Grouper(self._run_group, "Redis script caller")

    # -- lifecycle ------------------------------------------------------------------------
    async def open(self) -> None:
        if self._client is not None:
            return
        try:
            # A blocking pool queues a burst beyond its size for a while instead of failing it
            # ("Too many connections" would answer platforms 503 under a stall).
            pool = aioredis.BlockingConnectionPool.from_url(
                self._url, max_connections=POOL_SIZE, timeout=POOL_WAIT,
                socket_connect_timeout=5, socket_timeout=30, health_check_interval=30,
            )
            client = aioredis.Redis.from_pool(pool)  # the client owns and closes the pool
        except ValueError as exc:
            raise StorageUnavailable(f"bad Redis url {self._shown!r}: {exc}") from exc
        try:
            await client.ping()
        except RedisError as exc:
            await client.aclose()
            raise StorageUnavailable(f"Redis at {self._shown} does not answer: {exc}") from exc
        self._scripts = {
            name: client.register_script(getattr(lua, name))
            for name in (
                "LEASE", "ACK", "RETRY", "DEAD_LETTER", "HASTEN", "REQUEUE", "DROP", "MARK_SEEN",
                "PUT_INBOUND", "ENQUEUE", "ACQUIRE_LEASE", "RELEASE_LEASE", "COMMIT",
                "LIST_CLAIMS", "CARD_COPY",
            )
        }  # fmt: skip
        self._client = client

    async def close(self) -> None:
        await self._caller.settle()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def ping(self) -> bool:
        try:
            async with self._redis() as client:
                return bool(await client.ping())
        except StorageError:
            return False

    @asynccontextmanager
    async def _redis(self) -> AsyncIterator[aioredis.Redis]:
        client = self._client
        if client is None:
            raise StorageUnavailable("Redis storage is not open")
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        try:
            yield client
            if task is not None and task.cancelling() > cancels:
                # redis-py sends through asyncio.wait_for, which on Python 3.11 returns the
                # result and drops a cancel that lands as the send completes: without this a
                # worker cancelled on shutdown (or by asyncio.timeout) carries on for ever.
                raise asyncio.CancelledError
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The idle pooled connections may lead to a Redis that went away: drop them, or
            # each would fail its first command after Redis is back (the client does not retry).
            with contextlib.suppress(Exception):
                await client.connection_pool.disconnect(inuse_connections=False)
            raise StorageUnavailable(f"Redis at {self._shown}: {exc}") from exc
        except RedisError as exc:
            raise StorageError(f"Redis: {exc}") from exc

    async def _run(self, script: str, *args: str | int) -> Any:
        if self._client is None:
            raise StorageUnavailable("Redis storage is not open")
        return await self._caller.call(ScriptCall(self._scripts[script], (self._prefix, *args)))

    async def _run_group(self, calls: list[ScriptCall]) -> list[Outcome]:
        async with self._redis() as client:
            return await run_group(client, calls)

    # -- claims ---------------------------------------------------------------------------
    async def allocate_claim_id(self, year: int) -> str:
        require_year(year)
        async with self._redis() as client:
            number = await client.incr(f"{self._prefix}counter:claim:{year}")
        return format_claim_id(year, int(number))

    async def get_claim(self, claim_id: str) -> Claim | None:
        require_claim_id(claim_id)
        async with self._redis() as client:
            doc = await client.hget(f"{self._prefix}claim:{claim_id}", "doc")
        return None if doc is None else decode_claim(doc)

    async def _list(
        self, index: str, limit: int, order: str = "asc", low: str = "", high: str = ""
    ) -> list[Claim]:
        key = f"{self._prefix}idx:{index}"
        docs = await self._run("LIST_CLAIMS", key, order, low, high, require_limit(limit))
        return [decode_claim(doc) for doc in docs]

    async def claims_by_applicant(
        self, platform: str, user_id: str, limit: int = 20
    ) -> list[Claim]:
        return await self._list(f"applicant:{user_key(platform, user_id)}", limit, "desc")

    async def claims_pending_for(self, platform: str, user_id: str, limit: int = 20) -> list[Claim]:
        return await self._list(f"pending:{user_key(platform, user_id)}", limit)

    async def claims_by_status(self, status: ClaimStatus, limit: int = 100) -> list[Claim]:
        return await self._list(f"status:{require_status(status)}", limit)

    async def claims_by_date(self, start: date, end: date, limit: int = 100) -> list[Claim]:
        low, high = day_range(start, end)
        return await self._list("created", limit, "score", num(low), f"({num(high)}")

    async def commit(self, change: Commit) -> None:
        check_commit(change)
        if change.empty:
            return
        claim_ids = [entry.claim_id for entry in change.audit]
        for attempt in range(CHAIN_ATTEMPTS):
            if attempt:  # another commit moved the chain first: re-read it after a short pause
                await asyncio.sleep(random.uniform(0, 0.002 * min(attempt, 10)))  # noqa: S311
            async with self._redis() as client:
                stored = await chain_heads(client, self._prefix, claim_ids)
            now = self._clock()
            plan = commit_plan(change, now, audit_plan(change, stored))
            result = [text(part) for part in await self._run("COMMIT", num(now), plan)]
            if result[0] != "chain":
                raise_refusal(result)
                return
        raise StorageError(f"audit chain of {result[1]} kept moving; commit not applied")

    async def audit_claim_ids(self) -> list[str]:
        found: set[str] = set()
        async with self._redis() as client:
            for kind in ("audit", "audithead"):
                async for key in client.scan_iter(match=f"{self._prefix}{kind}:*", count=1000):
                    found.add(text(key).rsplit(":", 1)[1])
        return sorted(found)

    async def audit_chain(self, claim_id: str) -> tuple[list[AuditEntry], ChainHead | None]:
        async with self._redis() as client:
            return await chain_snapshot(client, self._prefix, require_claim_id(claim_id))

    async def audit_trail(self, claim_id: str) -> list[AuditEntry]:
        async with self._redis() as client:
            return await stored_trail(client, self._prefix, require_claim_id(claim_id))

    async def invoice_holder(self, invoice_key: str) -> str | None:
        require_text("invoice key", invoice_key)
        async with self._redis() as client:
            holder = await client.hget(f"{self._prefix}invoices", invoice_key)
        return None if holder is None else text(holder)

    # -- cards ----------------------------------------------------------------------------
    async def add_card_copy(self, copy: CardCopy) -> None:
        doc = check_card_copy(copy)
        await self._run("CARD_COPY", copy.claim_id, copy.copy_id, doc)

    async def card_copies(self, claim_id: str) -> list[CardCopy]:
        async with self._redis() as client:
            docs = await client.lrange(f"{self._prefix}cards:{require_claim_id(claim_id)}", 0, -1)
        return [card_copy_from_json(doc) for doc in docs]

    # -- conversations and dedup ----------------------------------------------------------
    async def get_conversation(self, key: str) -> dict[str, Any] | None:
        require_text("conversation key", key)
        async with self._redis() as client:
            raw = await client.get(f"{self._prefix}conv:{key}")
        if raw is None:
            return None
        stored = loads_object(raw, "conversation")
        if float(stored["expires_at"]) <= self._clock():
            return None
        state: dict[str, Any] = stored["state"]
        return state

    def _seen_key(self, platform: str, key: str) -> str:
        # The platform's length keeps ("a:b", "c") and ("a", "b:c") apart.
        return f"{self._prefix}seen:{len(platform)}:{platform}:{key}"

    async def mark_seen(self, platform: str, key: str, ttl: float) -> bool:
        require_text("platform", platform)
        require_text("dedup key", key)
        require_positive("ttl", ttl)
        now = self._clock()
        seen_key = self._seen_key(platform, key)
        return bool(await self._run("MARK_SEEN", seen_key, num(now), num(now + ttl), ttl_ms(ttl)))

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
        now = self._clock()
        message_id = new_message_id()
        seen = (self._seen_key(platform, event_id), num(now), num(now + dedup_ttl))
        queued = (ttl_ms(dedup_ttl), message_id, key, body, f"{platform}:{event_id}")
        lease = (
            num(now + lease_for) if lease_for > 0 else "",
            f"{message_id}.{new_receipt_token()}",
        )
        result = await self._run("PUT_INBOUND", *seen, *queued, *lease)
        return None if result == 0 else text(result)

    async def enqueue(self, topic: str, key: str, payload: dict[str, Any], delay: float = 0) -> str:
        body = check_message(topic, key, payload, delay)
        now = self._clock()
        message_id = new_message_id()
        await self._run("ENQUEUE", topic, key, body, num(now), num(now + delay), message_id)
        return message_id

    async def lease(self, topic: str, limit: int, visibility: float) -> list[Leased]:
        require_topic(topic)
        require_limit(limit)
        require_positive("visibility", visibility)
        now = self._clock()
        until = num(now + visibility)
        found = await self._run("LEASE", topic, num(now), until, limit, new_receipt_token())
        leased = []
        for receipt, values in zip(found[::2], found[1::2], strict=True):
            fields = dict(zip(_MSG_FIELDS, (text(v) for v in values), strict=True))
            leased.append(Leased(message=queue_message(fields), receipt=text(receipt)))
        return leased

    async def _settle(self, script: str, receipt: str, *args: str) -> None:
        require_text("receipt", receipt)
        if receipt_message_id(receipt) is None or not await self._run(
            script, receipt, num(self._clock()), *args
        ):
            raise StaleReceipt(f"receipt {receipt!r} is unknown, already used or its lease expired")

    async def ack(self, receipt: str) -> None:
        await self._settle("ACK", receipt)

    async def retry(self, receipt: str, delay: float, error: str) -> None:
        require_non_negative("delay", delay)
        await self._settle("RETRY", receipt, num(self._clock() + delay), free_text(error))

    async def dead_letter(self, receipt: str, error: str) -> None:
        await self._settle("DEAD_LETTER", receipt, free_text(error))

    async def hasten(self, topic: str) -> int:
        require_topic(topic)
        return int(await self._run("HASTEN", topic, num(self._clock())))

    async def queue_rows(
        self, topic: str | None, dead: bool, limit: int = 100
    ) -> list[QueueMessage]:
        topics = TOPICS if topic is None else (require_topic(topic),)
        require_limit(limit)
        async with self._redis() as client:
            found = await redis_queue.rows(client, self._prefix, topics, bool(dead), limit)
        return [queue_message(dict(zip(_MSG_FIELDS, values, strict=True))) for values in found]

    async def queue_depth(self) -> dict[str, tuple[int, int]]:
        async with self._redis() as client:
            return await redis_queue.depth(client, self._prefix)

    async def requeue(self, message_id: str) -> bool:
        require_text("message id", message_id)
        return bool(await self._run("REQUEUE", message_id, num(self._clock())))

    async def drop(self, message_id: str) -> bool:
        require_text("message id", message_id)
        return bool(await self._run("DROP", message_id))

    # -- attachments ----------------------------------------------------------------------
    async def put_attachment(
        self, data: bytes, content_type: str, filename: str = ""
    ) -> Attachment:
        blob = check_attachment(data, content_type, self._attachment_limit)
        digest = hashlib.sha256(blob).hexdigest()
        key = f"{self._prefix}att:{digest}"
        meta: dict[str, Any] = {
            "size": len(blob),
            "content_type": content_type,
            "filename": free_text(filename),
        }
        async with self._redis() as client:
            stored = await client.hget(key, "meta")
            if stored is None:
                # Data before metadata in one MULTI: a reader never finds metadata without bytes,
                # and HSETNX keeps the first upload's metadata when two race.
                pipe = client.pipeline(transaction=True)
                pipe.hset(key, "data", blob)
                pipe.hsetnx(key, "meta", json.dumps(meta))
                pipe.hget(key, "meta")
                stored = (await pipe.execute())[-1]
        kept = loads_object(stored, "attachment")
        return Attachment(digest, int(kept["size"]), kept["content_type"], kept["filename"])

    async def get_attachment(self, attachment_id: str) -> tuple[Attachment, bytes] | None:
        key = f"{self._prefix}att:{require_attachment_id(attachment_id)}"
        async with self._redis() as client:
            meta, data = await client.hmget(key, ["meta", "data"])
        if meta is None or data is None:
            return None
        kept = loads_object(meta, "attachment")
        attachment = Attachment(
            attachment_id, int(kept["size"]), kept["content_type"], kept["filename"]
        )
        return attachment, data if isinstance(data, bytes) else data.encode()

    # -- leases ---------------------------------------------------------------------------
    async def acquire_lease(self, name: str, owner: str, ttl: float) -> bool:
        require_text("lease name", name)
        require_text("lease owner", owner)
        require_positive("ttl", ttl)
        now = self._clock()
        key = f"{self._prefix}lease:{name}"
        return bool(
            await self._run("ACQUIRE_LEASE", key, owner, num(now), num(now + ttl), ttl_ms(ttl))
        )

    async def release_lease(self, name: str, owner: str) -> None:
        require_text("lease name", name)
        require_text("lease owner", owner)
        await self._run("RELEASE_LEASE", f"{self._prefix}lease:{name}", owner)
