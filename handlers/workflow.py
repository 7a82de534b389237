"""The claim state machine as pure functions: each legal transition, a typed error for the rest.

draft → submitted → approving(step k) → approved → paid, with rejected, withdrawn (by the
applicant before a final decision) and returned (sent back for changes, resubmittable).
Every function returns a new claim whose version is one higher; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from storage.models import ApprovalStep, Claim, ClaimStatus, Decision

S = ClaimStatus


class WorkflowError(Exception):
    """A transition the claim's state or the actor's role does not allow."""

    code = "workflow"


class IllegalTransition(WorkflowError):
    code = "illegal_transition"

    def __init__(self, claim: Claim, action: str) -> None:
        super().__init__(f"{claim.id}: cannot {action} a claim that is {claim.status.value}")
        self.claim_id = claim.id
        self.status = claim.status
        self.action = action


class NotAllowed(WorkflowError):
    code = "not_allowed"

    def __init__(self, claim: Claim, actor_id: str, action: str) -> None:
        super().__init__(f"{claim.id}: {actor_id} may not {action} it now")
        self.claim_id = claim.id
        self.actor_id = actor_id
        self.action = action


class StaleAction(WorkflowError):
    """A click on a card rendered from an older version of the claim."""

    code = "stale"

    def __init__(self, claim: Claim, seen_version: int) -> None:
        super().__init__(
            f"{claim.id}: card shows version {seen_version}, claim is at {claim.version}"
        )
        self.claim_id = claim.id
        self.seen_version = seen_version
        self.version = claim.version


class MissingReason(WorkflowError):
    code = "missing_reason"

    def __init__(self, action: str) -> None:
        super().__init__(f"a reason is required to {action}")
        self.action = action


def expect_version(claim: Claim, seen_version: int) -> None:
    if seen_version != claim.version:
        raise StaleAction(claim, seen_version)


def _bump(claim: Claim, now: datetime, **changes: object) -> Claim:
    return replace(claim, version=claim.version + 1, updated_at=now, **changes)  # type: ignore[arg-type]


def _require(claim: Claim, action: str, *allowed: ClaimStatus) -> None:
    if claim.status not in allowed:
        raise IllegalTransition(claim, action)


def submit(claim: Claim, now: datetime) -> Claim:
    """The applicant sends a draft, or a returned claim again, for approval."""
    _require(claim, "submit", S.DRAFT, S.RETURNED)
    if not claim.items:
        raise IllegalTransition(claim, "submit an empty claim")
    return _bump(claim, now, status=S.SUBMITTED)


def start_approval(claim: Claim, steps: Sequence[ApprovalStep], now: datetime) -> Claim:
    """Put the routed steps on a submitted claim; no steps at all means approved outright."""
    _require(claim, "route", S.SUBMITTED)
    if not steps:
        return _bump(claim, now, status=S.APPROVED, steps=(), current_step=0)
    return _bump(claim, now, status=S.APPROVING, steps=tuple(steps), current_step=0)


def can_decide(claim: Claim, actor_id: str) -> bool:
    return (
        claim.status is S.APPROVING
        and actor_id in claim.pending_approvers
        and actor_id != claim.applicant.user_id
    )


def _decide(
    claim: Claim, actor_id: str, decision: Decision, comment: str, now: datetime
) -> tuple[ApprovalStep, ...]:
    if claim.status is not S.APPROVING:
        raise IllegalTransition(claim, decision.value)
    if not can_decide(claim, actor_id):
        raise NotAllowed(claim, actor_id, decision.value)
    step = replace(
        claim.steps[claim.current_step],
        decision=decision,
        decided_by=actor_id,
        comment=comment,
        decided_at=now,
    )
    steps = list(claim.steps)
    steps[claim.current_step] = step
    return tuple(steps)


def approve(claim: Claim, actor_id: str, now: datetime, comment: str = "") -> Claim:
    steps = _decide(claim, actor_id, Decision.APPROVE, comment, now)
    following = claim.current_step + 1
    if following < len(steps):
        return _bump(claim, now, steps=steps, current_step=following)
    return _bump(claim, now, steps=steps, status=S.APPROVED)


def reject(claim: Claim, actor_id: str, reason: str, now: datetime) -> Claim:
    if not reason.strip():
        raise MissingReason("reject")
    steps = _decide(claim, actor_id, Decision.REJECT, reason.strip(), now)
    return _bump(claim, now, steps=steps, status=S.REJECTED)


def return_for_changes(claim: Claim, actor_id: str, note: str, now: datetime) -> Claim:
    if not note.strip():
        raise MissingReason("return")
    steps = _decide(claim, actor_id, Decision.RETURN, note.strip(), now)
    return _bump(claim, now, steps=steps, status=S.RETURNED)


def withdraw(claim: Claim, actor_id: str, now: datetime) -> Claim:
    """Only the applicant, and only before a final decision."""
    if actor_id != claim.applicant.user_id:
        raise NotAllowed(claim, actor_id, "withdraw")
    _require(claim, "withdraw", S.SUBMITTED, S.APPROVING, S.RETURNED)
    return _bump(claim, now, status=S.WITHDRAWN)


def mark_paid(claim: Claim, actor_id: str, finance_ids: Sequence[str], now: datetime) -> Claim:
    _require(claim, "mark paid", S.APPROVED)
    if actor_id not in finance_ids:
        raise NotAllowed(claim, actor_id, "mark paid")
    return _bump(claim, now, status=S.PAID)


def cancel_draft(claim: Claim, now: datetime) -> Claim:
    """The applicant drops a draft that was never submitted."""
    _require(claim, "cancel", S.DRAFT)
    return _bump(claim, now, status=S.WITHDRAWN)


def edit_draft(claim: Claim, now: datetime, **changes: object) -> Claim:
    """Change items or title while the applicant still holds the claim."""
    _require(claim, "edit", S.DRAFT, S.RETURNED)
    return _bump(claim, now, **changes)
