"""The tamper-evident audit log: each claim's audit entries form a sha256 hash chain.

Entry *i* of a claim stores ``prev_hash`` (the hash of entry *i-1*, or :data:`GENESIS` for the
first) and ``hash = sha256("claimbot-audit-v1\\n" + prev_hash + "\\n" + canonical JSON of the
entry's fields)``. Each backend also keeps a *head* per claim (entry count and last hash), written
in the same atomic step as the entries, so deleting the newest entries is caught too.

Chains are per claim, not global: a global chain would make every commit of every instance
queue behind one head record, while a claim's writers are already serialised (by the SQLite
write transaction, and on Redis by a compare-and-set of the claim's head inside the commit
script). Editing, reordering, inserting or deleting entries breaks the chain; someone who can
rewrite the whole store can also rewrite the chain and its heads, so keep backups or export
heads elsewhere when that is the threat.

Entries written before chaining existed (no ``hash``) are accepted as a prefix of a chain; the
first chained entry links to a hash folded over them, so they are covered from then on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from storage.models import AuditEntry

GENESIS = "0" * 64
_DOMAIN = "claimbot-audit-v1\n"


@dataclass(frozen=True, slots=True)
class ChainHead:
    entries: int
    hash: str


EMPTY = ChainHead(0, GENESIS)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first link that does not hold: ``index`` counts the claim's entries from 0."""

    claim_id: str
    index: int
    expected: str
    stored: str
    reason: str

    def __str__(self) -> str:
        return (
            f"claim {self.claim_id} entry {self.index}: {self.reason}"
            f" (expected {self.expected}, stored {self.stored})"
        )


@runtime_checkable
class AuditChainSource(Protocol):
    """What ``claimbot audit verify`` reads; both storage backends provide it."""

    async def audit_claim_ids(self) -> list[str]:
        """Every claim id with audit entries or a chain head, sorted."""

    async def audit_chain(self, claim_id: str) -> tuple[list[AuditEntry], ChainHead | None]:
        """The claim's entries in write order and its head record, read in one snapshot."""


def canonical(entry: AuditEntry) -> bytes:
    """Version 1 of the hashed encoding; a new AuditEntry field needs a new version here."""
    fields = {
        "claim_id": entry.claim_id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "detail": entry.detail,
        "from_version": entry.from_version,
        "to_version": entry.to_version,
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    digest = hashlib.sha256((_DOMAIN + prev_hash + "\n").encode())
    digest.update(canonical(entry))
    return digest.hexdigest()


def link(head: ChainHead, entry: AuditEntry) -> tuple[AuditEntry, ChainHead]:
    """``entry`` chained after ``head``, and the head after it."""
    digest = entry_hash(entry, head.hash)
    return replace(entry, prev_hash=head.hash, hash=digest), ChainHead(head.entries + 1, digest)


def fold(entries: list[AuditEntry]) -> ChainHead:
    """The head of stored entries that have no head record (written before chaining)."""
    head = EMPTY
    for entry in entries:
        head = ChainHead(head.entries + 1, entry_hash(entry, head.hash))
    return head


def chain_all(
    entries: list[AuditEntry], heads: dict[str, ChainHead]
) -> tuple[list[AuditEntry], dict[str, ChainHead]]:
    """Chain a commit's entries, in order, after each claim's current head."""
    moved = dict(heads)
    chained = []
    for entry in entries:
        linked, moved[entry.claim_id] = link(moved.get(entry.claim_id, EMPTY), entry)
        chained.append(linked)
    return chained, moved


def verify(claim_id: str, entries: list[AuditEntry], head: ChainHead | None) -> ChainBreak | None:
    """The first broken link of one claim's chain, or None when it holds."""
    prev, chained = GENESIS, False
    for index, entry in enumerate(entries):
        expected = entry_hash(entry, prev)
        if entry.hash:
            chained = True
            if entry.prev_hash != prev:
                return ChainBreak(claim_id, index, prev, entry.prev_hash, "previous hash differs")
            if entry.hash != expected:
                return ChainBreak(claim_id, index, expected, entry.hash, "entry was altered")
        elif chained:
            return ChainBreak(claim_id, index, expected, "", "entry has no hash")
        prev = expected
    return _check_head(claim_id, len(entries), prev, chained, head)


def _check_head(
    claim_id: str, count: int, last: str, chained: bool, head: ChainHead | None
) -> ChainBreak | None:
    if head is None:
        if chained:
            return ChainBreak(claim_id, count, "a chain head", "none", "chain head is missing")
        return None
    if head.entries != count:
        return ChainBreak(
            claim_id, min(count, head.entries), f"{head.entries} entries", f"{count} entries",
            "entries were removed" if count < head.entries else "entries were added",
        )  # fmt: skip
    if head.hash != last:
        return ChainBreak(claim_id, count - 1, head.hash, last, "last entry differs from head")
    return None


def is_legacy(entries: list[AuditEntry], head: ChainHead | None) -> bool:
    """A claim whose entries all predate chaining (nothing to check them against)."""
    return head is None and bool(entries) and not any(entry.hash for entry in entries)
