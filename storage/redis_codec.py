"""Encodings between the Redis backend and its scripts: exact numbers, the commit plan, refusals."""

from __future__ import annotations

import json
import math
from typing import Any

from storage.base import ClaimNotFound, InvoiceInUse, StaleReceipt, StorageError, VersionConflict
from storage.common import check_message, claim_row, dumps, loads_object, new_message_id
from storage.models import Claim, ClaimWrite, Commit, ModelError, audit_to_dict, claim_from_dict


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


def commit_plan(change: Commit, now: float) -> str:
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
            "audit": [[e.claim_id, dumps(audit_to_dict(e))] for e in change.audit],
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
