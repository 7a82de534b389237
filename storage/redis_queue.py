"""Operator views of the Redis queue: listing rows and counting them (reads, no script needed)."""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

from storage.base import TOPICS

FIELDS = (
    "id", "topic", "key", "payload", "created_at", "available_at", "attempts", "last_error", "dedup"
)  # fmt: skip


async def rows(
    client: aioredis.Redis, prefix: str, topics: tuple[str, ...], dead: bool, limit: int
) -> list[list[str]]:
    """Up to ``limit`` rows of ``topics``, oldest first, each as values in :data:`FIELDS` order."""
    part = "dead" if dead else "live"
    ordered: list[tuple[float, str]] = []
    for topic in topics:
        found = await client.zrange(f"{prefix}q:{topic}:{part}", 0, limit - 1, withscores=True)
        pairs = cast(list[tuple[bytes, float]], found)
        ordered.extend((score, member.decode()) for member, score in pairs)
    ordered.sort()
    pipe = client.pipeline(transaction=False)
    for _, message_id in ordered[:limit]:
        pipe.hmget(f"{prefix}q:msg:{message_id}", list(FIELDS))
    values = await pipe.execute()
    return [[v.decode() for v in row] for row in values if row[0] is not None]


async def depth(client: aioredis.Redis, prefix: str) -> dict[str, tuple[int, int]]:
    pipe = client.pipeline(transaction=False)
    for topic in TOPICS:
        pipe.zcard(f"{prefix}q:{topic}:live")
        pipe.zcard(f"{prefix}q:{topic}:dead")
    counts = await pipe.execute()
    return {topic: (int(counts[2 * i]), int(counts[2 * i + 1])) for i, topic in enumerate(TOPICS)}
