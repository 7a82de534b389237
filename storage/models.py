"""Storage-neutral domain records: claims, items, approval steps, audit entries, queue messages.

Everything here is a frozen dataclass; a change is a new value made with ``dataclasses.replace``.
``to_dict``/``from_dict`` give the JSON shape both storage backends keep, so SQLite and Redis store
byte-for-byte the same document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from storage.money import to_money

CLAIM_ID_PATTERN = re.compile(r"^BX-(\d{4})-(\d{6,})$")


class ModelError(ValueError):
    """A stored or supplied record does not have the shape of the model."""


class ClaimStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVING = "approving"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    RETURNED = "returned"

    @property
    def is_final(self) -> bool:
        return self in {ClaimStatus.PAID, ClaimStatus.REJECTED, ClaimStatus.WITHDRAWN}

    @property
    def holds_invoices(self) -> bool:
        """Whether invoices of a claim in this state are locked organisation-wide."""
        return self in {
            ClaimStatus.SUBMITTED,
            ClaimStatus.APPROVING,
            ClaimStatus.APPROVED,
            ClaimStatus.PAID,
            ClaimStatus.RETURNED,
        }


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    SKIP = "skip"


def format_claim_id(year: int, number: int) -> str:
    if not 1 <= number <= 999_999_999 or not 2000 <= year <= 9999:
        raise ModelError(f"claim number out of range: {year}/{number}")
    return f"BX-{year:04d}-{number:06d}"


def parse_claim_id(claim_id: str) -> tuple[int, int]:
    match = CLAIM_ID_PATTERN.match(claim_id)
    if match is None:
        raise ModelError(f"not a claim id: {claim_id!r} (expected BX-YYYY-NNNNNN)")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True, slots=True)
class Person:
    """Someone on one platform: the platform's own user id plus what we know of them."""

    platform: str
    user_id: str
    name: str = ""
    department_id: str = ""
    department_name: str = ""
    email: str = ""
    employee_no: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class ClaimItem:
    category: str
    amount: Decimal
    spent_on: date
    description: str = ""
    attachments: tuple[str, ...] = ()  # attachment ids (sha256 hex)
    invoice_key: str = ""  # organisation-wide invoice registry key, "" when none
    extra: tuple[tuple[str, str], ...] = ()  # category-declared fields, e.g. (("guests", "3"),)
    invoice_total: Decimal | None = None  # 价税合计 read from the invoice file, when one was read
    checks: tuple[tuple[str, str, str], ...] = ()  # invoice checks that failed: (rule, zh, en)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_money(self.amount))


@dataclass(frozen=True, slots=True)
class ApprovalStep:
    """One step of a claim's route and, once acted on, its outcome."""

    name: str
    approvers: tuple[str, ...]  # platform user ids, any one of whom may act
    reason: str = ""  # why the rules put this step here, shown on the card
    decision: Decision | None = None
    decided_by: str = ""
    comment: str = ""
    decided_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.decision is None


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    applicant: Person
    items: tuple[ClaimItem, ...]
    status: ClaimStatus
    created_at: datetime
    updated_at: datetime
    steps: tuple[ApprovalStep, ...] = ()
    current_step: int = 0  # index into steps while approving
    version: int = 1
    title: str = ""
    flags: tuple[str, ...] = ()  # policy and invoice flags, in the rule's words

    @property
    def platform(self) -> str:
        return self.applicant.platform

    @property
    def total(self) -> Decimal:
        return to_money(sum((item.amount for item in self.items), Decimal("0")))

    @property
    def invoice_keys(self) -> tuple[str, ...]:
        return tuple(item.invoice_key for item in self.items if item.invoice_key)

    @property
    def pending_approvers(self) -> tuple[str, ...]:
        if self.status is not ClaimStatus.APPROVING or not self.steps:
            return ()
        return self.steps[self.current_step].approvers


@dataclass(frozen=True, slots=True)
class AuditEntry:
    claim_id: str
    at: datetime
    actor: str  # "platform:user_id", or "system"
    action: str
    detail: str = ""
    from_version: int = 0
    to_version: int = 0
    # The tamper-evident chain (storage.audit_chain), filled in by Storage.commit. Left out of
    # equality: they say where an entry sits in its claim's chain, not what happened.
    prev_hash: str = field(default="", compare=False)
    hash: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str  # sha256 hex of the content
    size: int
    content_type: str
    filename: str = ""


@dataclass(frozen=True, slots=True)
class CardCopy:
    """One delivered copy of a claim's card, so every copy can be updated later."""

    claim_id: str
    platform: str
    recipient: str
    template: str
    ref: tuple[tuple[str, str], ...]  # platform handles: message_id, response_code, out_track_id…
    copy_id: str = ""  # stable id of this copy: writing a copy with the same id replaces it
    lang: str = "zh-CN"  # the language it was rendered in: its recipient's, kept on every update


@dataclass(frozen=True, slots=True)
class QueueMessage:
    """A row of the durable queue: inbound events, outbound platform calls, backend syncs.

    ``key`` orders delivery: of the rows with one key in one topic, only the oldest that is not
    done or dead may be leased, so one claim's (or one user's) rows go out in order.
    """

    id: str
    topic: str
    key: str
    payload: dict[str, Any]
    created_at: float
    available_at: float
    attempts: int = 0
    last_error: str = ""
    dedup: str = ""


@dataclass(frozen=True, slots=True)
class Leased:
    message: QueueMessage
    receipt: str  # proof of the lease; ack/retry/dead need it, a stale one is refused


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def claim_to_dict(claim: Claim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "applicant": {
            "platform": claim.applicant.platform,
            "user_id": claim.applicant.user_id,
            "name": claim.applicant.name,
            "department_id": claim.applicant.department_id,
            "department_name": claim.applicant.department_name,
            "email": claim.applicant.email,
            "employee_no": claim.applicant.employee_no,
        },
        "items": [
            {
                "category": item.category,
                "amount": str(item.amount),
                "spent_on": item.spent_on.isoformat(),
                "description": item.description,
                "attachments": list(item.attachments),
                "invoice_key": item.invoice_key,
                "extra": [list(pair) for pair in item.extra],
                "invoice_total": None if item.invoice_total is None else str(item.invoice_total),
                "checks": [list(check) for check in item.checks],
            }
            for item in claim.items
        ],
        "status": claim.status.value,
        "created_at": claim.created_at.isoformat(),
        "updated_at": claim.updated_at.isoformat(),
        "steps": [
            {
                "name": step.name,
                "approvers": list(step.approvers),
                "reason": step.reason,
                "decision": step.decision.value if step.decision else None,
                "decided_by": step.decided_by,
                "comment": step.comment,
                "decided_at": _iso(step.decided_at),
            }
            for step in claim.steps
        ],
        "current_step": claim.current_step,
        "version": claim.version,
        "title": claim.title,
        "flags": list(claim.flags),
    }


def claim_from_dict(data: dict[str, Any]) -> Claim:
    try:
        applicant = Person(**data["applicant"])
        items = tuple(
            ClaimItem(
                category=item["category"],
                amount=to_money(item["amount"]),
                spent_on=date.fromisoformat(item["spent_on"]),
                description=item.get("description", ""),
                attachments=tuple(item.get("attachments", ())),
                invoice_key=item.get("invoice_key", ""),
                extra=tuple((str(k), str(v)) for k, v in item.get("extra", ())),
                invoice_total=(
                    to_money(item["invoice_total"]) if item.get("invoice_total") else None
                ),
                checks=tuple(
                    (str(rule), str(zh), str(en)) for rule, zh, en in item.get("checks", ())
                ),
            )
            for item in data["items"]
        )
        steps = tuple(
            ApprovalStep(
                name=step["name"],
                approvers=tuple(step["approvers"]),
                reason=step.get("reason", ""),
                decision=Decision(step["decision"]) if step.get("decision") else None,
                decided_by=step.get("decided_by", ""),
                comment=step.get("comment", ""),
                decided_at=(
                    datetime.fromisoformat(step["decided_at"]) if step.get("decided_at") else None
                ),
            )
            for step in data.get("steps", ())
        )
        return Claim(
            id=data["id"],
            applicant=applicant,
            items=items,
            status=ClaimStatus(data["status"]),
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            steps=steps,
            current_step=int(data.get("current_step", 0)),
            version=int(data["version"]),
            title=data.get("title", ""),
            flags=tuple(data.get("flags", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"malformed claim record: {exc}") from exc


def audit_to_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "claim_id": entry.claim_id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "detail": entry.detail,
        "from_version": entry.from_version,
        "to_version": entry.to_version,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def audit_from_dict(data: dict[str, Any]) -> AuditEntry:
    try:
        return AuditEntry(
            claim_id=data["claim_id"],
            at=datetime.fromisoformat(data["at"]),
            actor=data["actor"],
            action=data["action"],
            detail=data.get("detail", ""),
            from_version=int(data.get("from_version", 0)),
            to_version=int(data.get("to_version", 0)),
            prev_hash=str(data.get("prev_hash", "")),
            hash=str(data.get("hash", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"malformed audit record: {exc}") from exc


@dataclass(frozen=True, slots=True)
class ClaimWrite:
    """Create (``expected_version is None``) or update a claim with an optimistic version check."""

    claim: Claim
    expected_version: int | None


@dataclass(frozen=True, slots=True)
class ConversationWrite:
    key: str
    state: dict[str, Any] | None  # None clears
    ttl: float = 86400.0


@dataclass(frozen=True, slots=True)
class NewMessage:
    topic: str
    key: str
    payload: dict[str, Any]
    delay: float = 0.0


@dataclass(slots=True)
class Commit:
    """Everything one handler changes, written in one transaction or not at all."""

    claims: list[ClaimWrite] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    messages: list[NewMessage] = field(default_factory=list)
    invoice_locks: list[tuple[str, str]] = field(default_factory=list)  # (invoice key, claim id)
    invoice_releases: list[tuple[str, str]] = field(default_factory=list)
    conversations: list[ConversationWrite] = field(default_factory=list)
    consume: str = ""  # receipt of a leased inbound row acked in the same transaction

    @property
    def empty(self) -> bool:
        return not (
            self.claims
            or self.audit
            or self.messages
            or self.invoice_locks
            or self.invoice_releases
            or self.conversations
            or self.consume
        )
