"""Shared pieces of the contract suite: the backend parameters, a fake clock, record builders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from storage.base import Storage
from storage.models import (
    ApprovalStep,
    AuditEntry,
    Claim,
    ClaimItem,
    ClaimStatus,
    ClaimWrite,
    Commit,
    Person,
)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]
START = 1_780_000_000.0  # 2026-05-28T20:26:40Z

MakeStorage = Callable[..., Awaitable[Storage]]


class FakeClock:
    """A clock the test moves by hand, so expiry is tested without sleeping."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


BASE_TIME = datetime(2026, 5, 28, 9, 30, tzinfo=UTC)


def make_claim(
    number: int,
    *,
    user: str = "ou_alice",
    status: ClaimStatus = ClaimStatus.SUBMITTED,
    created: datetime | None = None,
    approvers: tuple[str, ...] = (),
    invoice: str = "",
    version: int = 1,
    description: str = "打车去客户现场 🚕",
) -> Claim:
    created = created or BASE_TIME + timedelta(minutes=number)
    steps = (ApprovalStep(name="manager", approvers=approvers, reason="amount ≥ ¥0"),)
    return Claim(
        id=f"BX-2026-{number:06d}",
        applicant=Person("feishu", user, name="Alice 张", department_id="d1"),
        items=(
            ClaimItem(
                category="taxi",
                amount=Decimal("45.50"),
                spent_on=date(2026, 5, 27),
                description=description,
                attachments=("a" * 64,),
                invoice_key=invoice,
                extra=(("guests", "3"),),
            ),
        ),
        status=ClaimStatus.APPROVING if approvers else status,
        created_at=created,
        updated_at=created,
        steps=steps if approvers else (),
        version=version,
        title="客户拜访",
    )


def audit_for(claim: Claim, action: str = "submit", from_version: int = 0) -> AuditEntry:
    return AuditEntry(
        claim_id=claim.id,
        at=claim.updated_at,
        actor=f"{claim.platform}:{claim.applicant.user_id}",
        action=action,
        detail="via chat",
        from_version=from_version,
        to_version=claim.version,
    )


def create(claim: Claim) -> Commit:
    return Commit(claims=[ClaimWrite(claim, None)], audit=[audit_for(claim)])
