"""Approvals on WeCom: each click is an encrypted ``template_card_event`` answered with a passive
reply (the clicked card's button relabelled), then the card is updated through
``update_template_card`` with the click's response code; other copies with the code of their
send. A reason is the card's dropdown (a preset), or "other" and a message. WeCom updates a
copy once per code, so a copy past its code is superseded by a fresh one (journeys.status)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.approvals import journeys
from tests.approvals.drive import (
    APPLICANT,
    FINANCE,
    MANAGER,
    MANAGER_THEN_FINANCE,
    TWO_THEN_FINANCE,
    Start,
)
from tests.reminders.support import Clock

ASKED = "请直接回复一条消息，说明处理报销单 {id} 的理由。"


async def test_file_manager_finance_and_paid(wecom: Start) -> None:
    d = await wecom()
    claim = await journeys.paid(d)
    # Submit, step 1 and step 2 each spent the code of the newest status copy: three copies.
    copies = journeys.of(d, APPLICANT, claim, "claim_status")
    assert len(copies) == 3 and "已付款" in copies[-1].text
    assert [c.name for c in journeys.of(d, MANAGER, claim)] == ["approval_decided"]


@pytest.mark.parametrize("reason", ["超出标准", "发票抬头不对"])
async def test_reject_with_a_reason(wecom: Start, reason: str) -> None:
    d = await wecom()
    claim = await journeys.rejected(d, reason)
    preset = reason == "超出标准"  # a dropdown choice; else "other", then a message
    assert d.texts_to(MANAGER) == ([] if preset else [ASKED.format(id=claim), "已驳回"])


async def test_return_and_resubmit(wecom: Start) -> None:
    await journeys.returned_and_resubmitted(await wecom(), "请补充行程")


async def test_withdraw_mid_approval(wecom: Start) -> None:
    await journeys.withdrawn(await wecom())


async def test_two_approvers_click_at_once(wecom: Start) -> None:
    answers = await journeys.two_at_once(await wecom(TWO_THEN_FINANCE))
    # A passive reply can only relabel the button: both read the claim's decision now.
    assert [a.toast for a in answers] == [journeys.APPROVED] * 2


async def test_a_colleague_clicks_someone_elses_card(wecom: Start) -> None:
    await journeys.someone_elses_card(await wecom())


@pytest.mark.redis
async def test_a_reminder_fires_once_with_two_instances(
    wecom: Start, redis_prefix: str, clock: Clock
) -> None:
    approval = replace(MANAGER_THEN_FINANCE, remind_after_hours=24)
    await journeys.reminded_once(await wecom(approval, redis_prefix=redis_prefix, clock=clock),
                                 clock)


async def test_one_fresh_status_card_per_change_however_many_copies(wecom: Start) -> None:
    """The applicant holds two status copies (the draft before and after a receipt), both past
    their response codes once submitted: a decision re-sends the status once, not per copy."""
    d = await wecom()
    await d.say(APPLICANT, "报销 打车 45.5 昨天 去客户现场")
    await d.send_image(APPLICANT)
    draft = d.last_card(APPLICANT, "claim_draft")
    await d.click(APPLICANT, draft, "submit:")
    claim = draft.claim_id
    assert len(journeys.of(d, APPLICANT, claim, "claim_status")) == 2
    await d.decide(MANAGER, journeys.waiting(d, MANAGER, claim, "第 1/2 步"), "approve")
    copies = journeys.of(d, APPLICANT, claim, "claim_status")
    assert len(copies) == 3 and "赵六" in copies[-1].text
    review = journeys.waiting(d, FINANCE, claim, "第 2/2 步")
    await d.decide(FINANCE, review, "approve")  # the fresh copy's own code: updated in place
    copies = journeys.of(d, APPLICANT, claim, "claim_status")
    assert len(copies) == 3 and "已批准，待付款" in copies[-1].text
