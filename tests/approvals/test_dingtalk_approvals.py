"""Approvals on DingTalk in Stream mode: each click is a card callback frame on the gateway's
socket, answered in its ACK (the clicker's card and a private notice); every other copy is
updated through the card API. A reason is a preset reject button ("驳回：超出标准"), or the
"other" button (return always) and a message."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.approvals import journeys
from tests.approvals.drive import (
    APPLICANT,
    MANAGER,
    MANAGER_THEN_FINANCE,
    TWO_THEN_FINANCE,
    Start,
)
from tests.reminders.support import Clock

ASKED = "请直接回复一条消息，说明处理报销单 {id} 的理由。"


async def test_file_manager_finance_and_paid(dingtalk: Start) -> None:
    d = await dingtalk()
    claim = await journeys.paid(d)
    assert len(journeys.of(d, APPLICANT, claim, "claim_status")) == 1  # updated in place


@pytest.mark.parametrize("reason", ["超出标准", "发票抬头不对"])
async def test_reject_with_a_reason(dingtalk: Start, reason: str) -> None:
    d = await dingtalk()
    claim = await journeys.rejected(d, reason)
    preset = reason == "超出标准"  # its own button; else "other", then a message
    assert d.texts_to(MANAGER) == ([] if preset else [ASKED.format(id=claim), "已驳回"])


async def test_return_and_resubmit(dingtalk: Start) -> None:
    d = await dingtalk()
    claim = await journeys.returned_and_resubmitted(d, "请补充行程")
    assert d.texts_to(MANAGER) == [ASKED.format(id=claim), "已退回"]  # return asks for its note


async def test_withdraw_mid_approval(dingtalk: Start) -> None:
    await journeys.withdrawn(await dingtalk())


async def test_two_approvers_click_at_once(dingtalk: Start) -> None:
    answers = await journeys.two_at_once(await dingtalk(TWO_THEN_FINANCE))
    late = next(a for a in answers if a.toast != journeys.APPROVED)
    assert late.toast.startswith(journeys.STALE)  # the current state, in the ACK
    assert late.card is not None and late.card.name == "approval_decided"


async def test_a_colleague_clicks_someone_elses_card(dingtalk: Start) -> None:
    await journeys.someone_elses_card(await dingtalk())


@pytest.mark.redis
async def test_a_reminder_fires_once_with_two_instances(
    dingtalk: Start, redis_prefix: str, clock: Clock
) -> None:
    approval = replace(MANAGER_THEN_FINANCE, remind_after_hours=24)
    await journeys.reminded_once(await dingtalk(approval, redis_prefix=redis_prefix, clock=clock),
                                 clock)
