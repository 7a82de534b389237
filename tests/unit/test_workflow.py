from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from handlers import workflow as wf
from storage.models import ApprovalStep, Claim, ClaimItem, ClaimStatus, Decision, Person

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
APPLICANT = Person("feishu", "ou_zhangsan", "张三")


def draft(items: int = 1) -> Claim:
    return Claim(
        id="BX-2026-000001",
        applicant=APPLICANT,
        items=tuple(
            ClaimItem("taxi", Decimal("45.50"), date(2026, 11, 28)) for _ in range(items)
        ),
        status=ClaimStatus.DRAFT,
        created_at=NOW,
        updated_at=NOW,
    )


STEPS = (
    ApprovalStep("直属上级", ("ou_lisi",)),
    ApprovalStep("财务审核", ("ou_zhaoliu", "ou_qianqi")),
)


def approving() -> Claim:
    return wf.start_approval(wf.submit(draft(), NOW), STEPS, NOW)


def test_full_happy_path_bumps_version_each_time() -> None:
    claim = draft()
    submitted = wf.submit(claim, NOW)
    routed = wf.start_approval(submitted, STEPS, NOW)
    first = wf.approve(routed, "ou_lisi", NOW, "ok")
    second = wf.approve(first, "ou_qianqi", NOW)
    paid = wf.mark_paid(second, "ou_zhaoliu", ["ou_zhaoliu"], NOW)
    versions = [c.version for c in (claim, submitted, routed, first, second, paid)]
    assert versions == [1, 2, 3, 4, 5, 6]
    assert first.status is ClaimStatus.APPROVING and first.current_step == 1
    assert second.status is ClaimStatus.APPROVED
    assert paid.status is ClaimStatus.PAID
    assert second.steps[1].decided_by == "ou_qianqi"
    assert second.steps[0].decision is Decision.APPROVE and second.steps[0].comment == "ok"


def test_no_steps_means_approved_outright() -> None:
    assert wf.start_approval(wf.submit(draft(), NOW), (), NOW).status is ClaimStatus.APPROVED


def test_reject_needs_reason_and_ends_claim() -> None:
    with pytest.raises(wf.MissingReason):
        wf.reject(approving(), "ou_lisi", "  ", NOW)
    rejected = wf.reject(approving(), "ou_lisi", "票据不全", NOW)
    assert rejected.status is ClaimStatus.REJECTED
    assert rejected.steps[0].comment == "票据不全"


def test_return_then_resubmit() -> None:
    returned = wf.return_for_changes(approving(), "ou_lisi", "请补发票", NOW)
    assert returned.status is ClaimStatus.RETURNED
    edited = wf.edit_draft(returned, NOW, title="补充发票")
    assert wf.submit(edited, NOW).status is ClaimStatus.SUBMITTED


def test_only_current_approver_may_decide() -> None:
    claim = approving()
    with pytest.raises(wf.NotAllowed):
        wf.approve(claim, "ou_zhaoliu", NOW)  # approver of the next step, not this one
    with pytest.raises(wf.NotAllowed):
        wf.approve(claim, "ou_stranger", NOW)


def test_applicant_never_approves_own_claim() -> None:
    claim = wf.start_approval(
        wf.submit(draft(), NOW), (ApprovalStep("x", ("ou_zhangsan",)),), NOW
    )
    assert not wf.can_decide(claim, "ou_zhangsan")
    with pytest.raises(wf.NotAllowed):
        wf.approve(claim, "ou_zhangsan", NOW)


def test_withdraw_only_by_applicant_before_final() -> None:
    claim = approving()
    with pytest.raises(wf.NotAllowed):
        wf.withdraw(claim, "ou_lisi", NOW)
    assert wf.withdraw(claim, "ou_zhangsan", NOW).status is ClaimStatus.WITHDRAWN
    approved = wf.approve(wf.approve(claim, "ou_lisi", NOW), "ou_zhaoliu", NOW)
    with pytest.raises(wf.IllegalTransition):
        wf.withdraw(approved, "ou_zhangsan", NOW)


def test_mark_paid_needs_finance_and_approved() -> None:
    with pytest.raises(wf.IllegalTransition):
        wf.mark_paid(approving(), "ou_zhaoliu", ["ou_zhaoliu"], NOW)
    approved = wf.start_approval(wf.submit(draft(), NOW), (), NOW)
    with pytest.raises(wf.NotAllowed):
        wf.mark_paid(approved, "ou_lisi", ["ou_zhaoliu"], NOW)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ClaimStatus.DRAFT, lambda c: wf.approve(c, "ou_lisi", NOW)),
        (ClaimStatus.PAID, lambda c: wf.submit(c, NOW)),
        (ClaimStatus.REJECTED, lambda c: wf.withdraw(c, "ou_zhangsan", NOW)),
        (ClaimStatus.WITHDRAWN, lambda c: wf.submit(c, NOW)),
        (ClaimStatus.APPROVED, lambda c: wf.start_approval(c, STEPS, NOW)),
        (ClaimStatus.SUBMITTED, lambda c: wf.edit_draft(c, NOW, title="x")),
    ],
)
def test_illegal_transitions_raise(status: ClaimStatus, action: object) -> None:
    from dataclasses import replace

    with pytest.raises(wf.IllegalTransition) as info:
        action(replace(draft(), status=status))  # type: ignore[operator]
    assert status.value in str(info.value)


def test_empty_claim_cannot_be_submitted() -> None:
    with pytest.raises(wf.IllegalTransition):
        wf.submit(draft(items=0), NOW)


def test_stale_version_is_refused() -> None:
    claim = approving()
    wf.expect_version(claim, claim.version)
    with pytest.raises(wf.StaleAction):
        wf.expect_version(claim, claim.version - 1)
