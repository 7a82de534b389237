"""Approvals on Feishu (webhook with an encrypt key): each click is an encrypted, signed card
callback answered inline (a toast and the clicker's card at once); every other copy is updated
through the fake open API. The route: the manager (李四), then finance (赵六), who marks paid.
A reason is the card's form input."""

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


async def test_file_manager_finance_and_paid(feishu: Start) -> None:
    d = await feishu()
    claim = await journeys.paid(d)
    assert len(journeys.of(d, APPLICANT, claim, "claim_status")) == 1  # updated in place


async def test_the_clicker_sees_the_decision_at_once(feishu: Start) -> None:
    d = await feishu()
    request = await d.file_and_submit()
    answer = await d.decide(MANAGER, request, "approve")
    assert answer.card is not None and answer.card.name == "approval_decided"
    assert journeys.APPROVED in answer.card.text and answer.card.actions == ()
    assert d.last_card(MANAGER, "approval_decided").text == answer.card.text


async def test_reject_with_a_reason(feishu: Start) -> None:
    d = await feishu()
    await journeys.rejected(d, "发票抬头不对")
    assert d.texts_to(MANAGER) == []  # the reason came in the card's form


async def test_return_and_resubmit(feishu: Start) -> None:
    await journeys.returned_and_resubmitted(await feishu(), "请补充行程")


async def test_withdraw_mid_approval(feishu: Start) -> None:
    await journeys.withdrawn(await feishu())


async def test_two_approvers_click_at_once(feishu: Start) -> None:
    answers = await journeys.two_at_once(await feishu(TWO_THEN_FINANCE))
    late = next(a for a in answers if a.toast != journeys.APPROVED)
    assert late.toast.startswith(journeys.STALE)  # the current state, inline
    assert late.card is not None and late.card.name == "approval_decided"


async def test_a_colleague_clicks_someone_elses_card(feishu: Start) -> None:
    await journeys.someone_elses_card(await feishu())


@pytest.mark.redis
async def test_a_reminder_fires_once_with_two_instances(
    feishu: Start, redis_prefix: str, clock: Clock
) -> None:
    approval = replace(MANAGER_THEN_FINANCE, remind_after_hours=24)
    await journeys.reminded_once(await feishu(approval, redis_prefix=redis_prefix, clock=clock),
                                 clock)
