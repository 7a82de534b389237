"""Encodings between the Redis backend and its scripts: exact numbers, the commit plan, refusals."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

import redis.asyncio as aioredis

from storage.audit_chain import EMPTY, ChainHead, chain_all, fold
from storage.base import ClaimNotFound, InvoiceInUse, StaleReceipt, StorageError, VersionConflict
from storage.common import check_message, claim_row, dumps, loads_object, new_message_id
from storage.models import (
    AuditEntry,
    Claim,
    ClaimWrite,
    Commit,
    ModelError,
    audit_from_dict,
    audit_to_dict,
    claim_from_dict,
)


def num(value: float) -> str:
    """A float as Redis and Lua read it back exactly."""
    return repr(float(value))


def ttl_ms(seconds: float) -> str:
    return str(max(1, math.ceil(seconds * 1000)))


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_claim(doc: bytes | str) -> Claim:
    try:
        return claim_from_dict(loads_object(doc, "claim"))
    except ModelError as exc:
        raise StorageError(f"stored claim is malformed: {exc}") from exc


def _claim_plan(write: ClaimWrite) -> dict[str, Any]:
    row = claim_row(write.claim)
    expected = write.expected_version
    return {
        "id": row.id,
        "expected": "" if expected is None else str(expected),
        "version": str(row.version),
        "doc": row.doc,
        "applicant": row.applicant,
        "status": row.status,
        "created": num(row.created_ts),
        "updated": num(row.updated_ts),
        "pending": list(row.pending),
        "pending_json": json.dumps(list(row.pending)),
    }


StoredHead = tuple[int, str, ChainHead]  # list length, stored head hash ("" for none), head


async def chain_heads(
    client: aioredis.Redis, prefix: str, claim_ids: Iterable[str]
) -> dict[str, StoredHead]:
    """Per claim: what its audit list and head record hold now, and the head to chain after."""
    ids = list(dict.fromkeys(claim_ids))
    pipe = client.pipeline(transaction=True)
    for claim_id in ids:
        pipe.llen(f"{prefix}audit:{claim_id}")
        pipe.hmget(f"{prefix}audithead:{claim_id}", ["entries", "hash"])
    found = await pipe.execute() if ids else []
    heads: dict[str, StoredHead] = {}
    for claim_id, length, (entries, digest) in zip(ids, found[::2], found[1::2], strict=True):
        if digest is not None:
            head = ChainHead(int(entries), text(digest))
        elif length:  # entries written before chaining: the chain folds them in
            head = fold(await stored_trail(client, prefix, claim_id))
        else:
            head = EMPTY
        heads[claim_id] = (int(length), "" if digest is None else text(digest), head)
    return heads


async def stored_trail(client: aioredis.Redis, prefix: str, claim_id: str) -> list[AuditEntry]:
    docs = await client.lrange(f"{prefix}audit:{claim_id}", 0, -1)
    return [audit_from_dict(loads_object(doc, "audit entry")) for doc in docs]


async def chain_snapshot(
    client: aioredis.Redis, prefix: str, claim_id: str
) -> tuple[list[AuditEntry], ChainHead | None]:
    pipe = client.pipeline(transaction=True)
    pipe.lrange(f"{prefix}audit:{claim_id}", 0, -1)
    pipe.hmget(f"{prefix}audithead:{claim_id}", ["entries", "hash"])
    docs, (count, digest) = await pipe.execute()
    entries = [audit_from_dict(loads_object(doc, "audit entry")) for doc in docs]
    return entries, None if digest is None else ChainHead(int(count), text(digest))


AuditPlan = tuple[list[list[str]], list[list[str]]]


def audit_plan(change: Commit, stored: dict[str, StoredHead]) -> AuditPlan:
    """The chained entries, and per claim the stored state they expect and the head they leave.

    The COMMIT script refuses with ``chain`` when a claim's list or head moved since ``stored``
    was read, so two commits can never fork one chain; the caller reads again and retries.
    """
    chained, moved = chain_all(change.audit, {cid: s[2] for cid, s in stored.items()})
    entries = [[e.claim_id, dumps(audit_to_dict(e))] for e in chained]
    checks = [
        [cid, str(stored[cid][0]), stored[cid][1], str(head.entries), head.hash]
        for cid, head in moved.items()
    ]
    return entries, checks


def commit_plan(change: Commit, now: float, audit: AuditPlan) -> str:
    """The commit as the COMMIT script reads it; every time is a decimal string."""
    messages = [
        [new_message_id(), m.topic, m.key, check_message(m.topic, m.key, m.payload, m.delay),
         num(now + m.delay)]
        for m in change.messages
    ]  # fmt: skip
    conversations = [
        [c.key, "", ""] if c.state is None else [
            c.key, dumps({"state": c.state, "expires_at": num(now + c.ttl)}), ttl_ms(c.ttl)
        ]
        for c in change.conversations
    ]  # fmt: skip
    return dumps(
        {
            "consume": change.consume,
            "claims": [_claim_plan(write) for write in change.claims],
            "audit": audit[0],
            "chains": audit[1],
            "releases": [list(pair) for pair in change.invoice_releases],
            "locks": [list(pair) for pair in change.invoice_locks],
            "messages": messages,
            "conversations": conversations,
        }
    )


def raise_refusal(result: list[str]) -> None:
    kind = result[0]
    if kind == "stale":
        raise StaleReceipt(f"receipt {result[1]!r} is unknown, already used or its lease expired")
    if kind == "missing":
        raise ClaimNotFound(result[1])
    if kind == "conflict":
        expected = int(result[2]) if result[2] else None
        raise VersionConflict(result[1], expected, int(result[3]))
    if kind == "invoice":
        raise InvoiceInUse(result[1], result[2])
