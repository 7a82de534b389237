"""The approval journeys, run by each platform's test file through its real inbound format.

Every journey reads what each person got at the fake platform: the approver cards sent, each
copy as its recipient sees it now (updates applied), and the texts. A card "is decided" when
it shows the decision and nothing left to click (Feishu and DingTalk drop the buttons; WeCom
keeps one inert ``noop:`` button, as a template card needs one).

WeCom can update a delivered card once per response code (one from the send, one from each
click on it), so a copy that cannot be updated any more is superseded by a fresh copy: there
the applicant's status card grows copies, and ``status`` reads the newest. ``superseded``
checks that an older copy cannot act: a click on it is answered with the current state.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.workers.reminders import REMINDERS
from tests.approvals.drive import (
    APPLICANT,
    COLLEAGUE,
    FINANCE,
    MANAGER,
    NAMES,
    SECOND,
    Approvals,
    concurrently,
)
from tests.filing.drive import Answer, Seen
from tests.reminders.support import Clock

APPROVED = "已同意"
NOT_YOURS = "你不是这一步的审批人，无法操作。"
NOT_THE_APPLICANT = "只有申请人可以这样操作。"
STALE = "这张卡片已过期"  # handlers' already_handled: "…报销单当前状态为“{status}”。"
REMINDER = "⏰"


def of(d: Approvals, user: str, claim_id: str, name: str | None = None) -> list[Seen]:
    """The cards ``user`` has for ``claim_id`` (of catalogue ``name``), oldest first."""
    return [c for c in d.cards_to(user, name) if c.claim_id == claim_id]


def status(d: Approvals, claim_id: str) -> Seen:
    """The applicant's newest status card for the claim."""
    cards = of(d, APPLICANT, claim_id, "claim_status")
    assert cards, f"no status card for {claim_id}: {d.seen(APPLICANT)}"
    return cards[-1]


def live(card: Seen) -> tuple[str, ...]:
    """The buttons that act (WeCom's inert ``noop:`` placeholder is not one)."""
    return tuple(a for a in card.actions if not a.startswith("noop:"))


def decided(d: Approvals, user: str, claim_id: str, *shows: str) -> Seen:
    """Every copy ``user`` has of the claim's approval card is decided and shows ``shows``."""
    cards = [c for c in of(d, user, claim_id) if c.name.startswith("approval_")]
    assert cards, f"{user} has no card for {claim_id}"
    assert [c.name for c in cards] == ["approval_decided"] * len(cards), (user, cards)
    for card in cards:
        assert live(card) == (), card
        for text in shows:
            assert text in card.text, (text, card.text)
    return cards[-1]


def waiting(d: Approvals, user: str, claim_id: str, step: str) -> Seen:
    """``user`` has exactly one card for the claim: an approval request at ``step``."""
    cards = of(d, user, claim_id)
    assert [c.name for c in cards] == ["approval_request"], (user, cards)
    card = cards[0]
    assert step in card.text and {a.split(":")[0] for a in live(card)} == {
        "approve", "reject", "return"}, card
    return card


def told(d: Approvals, user: str, *texts: str) -> None:
    """All the texts ``user`` got so far are exactly ``texts``, in order."""
    assert d.texts_to(user) == list(texts), d.texts_to(user)


async def superseded(d: Approvals, user: str, card: Seen) -> None:
    """A click on an old copy that still shows buttons changes nothing."""
    if not live(card):
        return
    trail, newest = await d.audit(card.claim_id), status(d, card.claim_id)
    await d.click(user, card, live(card)[0].split(":")[0] + ":")
    after = await d.audit(card.claim_id)
    assert [a for a, _ in after[len(trail):]] in ([], ["refused"]), after[len(trail):]
    assert status(d, card.claim_id).text == newest.text


async def paid(d: Approvals) -> str:
    """File → the manager approves → finance approves → finance marks paid."""
    request = await d.file_and_submit()
    claim = request.claim_id
    waiting(d, MANAGER, claim, "第 1/2 步")
    assert d.seen(FINANCE) == []
    assert "审批中" in status(d, claim).text and live(status(d, claim)) == (
        f"withdraw:{claim}:3",)

    answer = await d.decide(MANAGER, request, "approve")
    assert answer.toast == APPROVED
    decided(d, MANAGER, claim, APPROVED, "李四")
    review = waiting(d, FINANCE, claim, "第 2/2 步")
    assert "财务审核" in review.text
    notified = f"你的报销单 {claim} 已由 李四 同意，正在等待下一步审批。"
    told(d, APPLICANT, notified)
    now = status(d, claim)
    assert "审批中" in now.text and "赵六" in now.text and live(now) == (f"withdraw:{claim}:4",)

    answer = await d.decide(FINANCE, review, "approve")
    assert answer.toast == APPROVED
    decided(d, FINANCE, claim, APPROVED, "赵六")
    decided(d, MANAGER, claim, APPROVED, "李四")
    assert len(of(d, MANAGER, claim)) == 1  # nothing more for the manager
    notices = of(d, FINANCE, claim, "finance_notice")
    assert len(notices) == 1 and live(notices[0]) == (f"mark_paid:{claim}:5",)
    assert "¥45.50" in notices[0].text and "张三" in notices[0].text
    told(d, APPLICANT, notified, f"你的报销单 {claim} 已审批通过，等待财务付款。")
    now = status(d, claim)
    assert "已批准，待付款" in now.text and live(now) == ()

    refused = await d.click(MANAGER, notices[0], "mark_paid:")  # not finance: a replayed button
    assert refused.toast == "只有财务人员可以标记付款。", refused
    assert of(d, FINANCE, claim, "finance_notice") == notices and status(d, claim) == now
    await d.click(FINANCE, notices[0], "mark_paid:")
    again = await d.click(FINANCE, notices[0], "mark_paid:")  # a second device: done already
    assert again.toast != "已标记为已付款", again
    notices = of(d, FINANCE, claim, "finance_notice")
    assert len(notices) == 1 and "已付款" in notices[0].text and live(notices[0]) == ()
    assert [c.name for c in of(d, FINANCE, claim)] == ["approval_decided", "finance_notice"]
    told(d, APPLICANT, notified, f"你的报销单 {claim} 已审批通过，等待财务付款。",
         f"你的报销单 {claim} 已付款（¥45.50）。")
    now = status(d, claim)
    assert "已付款" in now.text and live(now) == ()
    assert d.texts_to(MANAGER) == [] and d.texts_to(FINANCE) == []
    p = d.platform
    paid_trail = [
        ("submitted", f"{p}:{APPLICANT}"), ("step_approved", f"{p}:{MANAGER}"),
        ("approved", f"{p}:{FINANCE}"), ("refused", f"{p}:{MANAGER}"), ("paid", f"{p}:{FINANCE}")]
    # The second click is refused, or on WeCom (whose card events carry no id: user, second,
    # button and card make one) taken for a redelivery of the first within the same second.
    trail = (await d.audit(claim))[1:]
    assert trail in ([*paid_trail, ("refused", f"{p}:{FINANCE}")], paid_trail), trail
    for old in of(d, APPLICANT, claim, "claim_status")[:-1]:
        await superseded(d, APPLICANT, old)
    return claim


async def rejected(d: Approvals, reason: str) -> str:
    """The manager rejects with ``reason``; the applicant hears it; no one can act after."""
    request = await d.file_and_submit()
    claim = request.claim_id
    await d.decide(MANAGER, request, "reject", reason)
    decided(d, MANAGER, claim, "已驳回", reason)
    told(d, APPLICANT, f"你的报销单 {claim} 被 李四 驳回：{reason}")
    now = status(d, claim)
    assert "已驳回" in now.text and reason in now.text and live(now) == ()
    assert d.seen(FINANCE) == []

    again = await d.decide(MANAGER, request, "approve")  # the card as it was: one decision
    assert again.toast != APPROVED, again
    assert [a for a, _ in await d.audit(claim)][1:] == ["submitted", "rejected", "refused"]
    assert len(d.texts_to(APPLICANT)) == 1 and d.seen(FINANCE) == []
    return claim


async def returned_and_resubmitted(d: Approvals, note: str) -> str:
    """Returned with a note; the applicant edits and resubmits; the manager approves anew."""
    request = await d.file_and_submit()
    claim = request.claim_id
    await d.decide(MANAGER, request, "return", note)
    decided(d, MANAGER, claim, "已退回", note)
    told(d, APPLICANT, f"你的报销单 {claim} 被 李四 退回修改：{note}。修改后可重新提交。")
    now = status(d, claim)
    assert "已退回" in now.text and {a.split(":")[0] for a in live(now)} == {
        "resubmit", "withdraw"}

    refused = await d.click(COLLEAGUE, now, "resubmit:")  # the applicant's card, not theirs
    assert refused.toast == NOT_THE_APPLICANT, refused
    assert (await d.audit(claim))[-1] == ("refused", f"{d.platform}:{COLLEAGUE}")
    answer = await d.click(APPLICANT, now, "resubmit:")
    assert answer.toast == "请修改后点击提交。", answer
    draft = d.last_card(APPLICANT, "claim_draft")
    assert draft.claim_id == claim
    await d.say(APPLICANT, "金额改成 40")
    draft = d.last_card(APPLICANT, "claim_draft")
    assert draft.claim_id == claim and "¥40.00" in draft.text
    await d.click(APPLICANT, draft, "submit:")

    cards = of(d, MANAGER, claim)
    assert [c.name for c in cards] == ["approval_decided", "approval_request"], cards
    assert "¥40.00" in cards[1].text and "第 1/2 步" in cards[1].text
    assert "已退回" in cards[0].text and live(cards[0]) == ()
    await d.decide(MANAGER, cards[1], "approve")
    review = waiting(d, FINANCE, claim, "第 2/2 步")
    assert "¥40.00" in review.text
    p = d.platform
    assert (await d.audit(claim))[1:] == [
        ("submitted", f"{p}:{APPLICANT}"), ("returned", f"{p}:{MANAGER}"),
        ("refused", f"{p}:{COLLEAGUE}"), ("item_edited", f"{p}:{APPLICANT}"),
        ("submitted", f"{p}:{APPLICANT}"), ("step_approved", f"{p}:{MANAGER}")]
    return claim


async def withdrawn(d: Approvals) -> str:
    """Withdrawn while finance reviews: finance's card is withdrawn, its click changes nothing."""
    request = await d.file_and_submit()
    claim = request.claim_id
    await d.decide(MANAGER, request, "approve")
    review = waiting(d, FINANCE, claim, "第 2/2 步")

    answer = await d.click(APPLICANT, status(d, claim), "withdraw:")
    assert "已撤回" in answer.toast, answer
    assert "已撤回" in status(d, claim).text and live(status(d, claim)) == ()
    decided(d, FINANCE, claim, "已撤回")
    assert len(of(d, MANAGER, claim)) == 1 and APPROVED in of(d, MANAGER, claim)[0].text
    late = await d.decide(FINANCE, review, "approve")
    assert late.toast != APPROVED
    trail = [a for a, _ in await d.audit(claim)]
    assert trail[1:] == ["submitted", "step_approved", "withdrawn", "refused"], trail
    assert of(d, FINANCE, claim, "finance_notice") == []
    return claim


async def two_at_once(d: Approvals) -> list[Answer]:
    """A step of two approvers (``users:lisi,wangwu``), both approve at once: one decision."""
    await d.say(APPLICANT, "报销 打车 45.5 昨天 去客户现场")
    draft = d.last_card(APPLICANT, "claim_draft")
    await d.click(APPLICANT, draft, "submit:")
    claim = draft.claim_id
    first = waiting(d, MANAGER, claim, "第 1/2 步")
    second = waiting(d, SECOND, claim, "第 1/2 步")

    answers = await concurrently(d.decide(MANAGER, first, "approve"),
                                 d.decide(SECOND, second, "approve"))
    trail = await d.audit(claim)
    assert [a for a, _ in trail].count("step_approved") == 1, trail
    winner = next(actor for action, actor in trail if action == "step_approved")
    loser = f"{d.platform}:{SECOND}" if winner.endswith(MANAGER) else f"{d.platform}:{MANAGER}"
    assert ("refused", loser) in trail, trail
    for user in (MANAGER, SECOND):
        decided(d, user, claim, APPROVED)
    waiting(d, FINANCE, claim, "第 2/2 步")
    by = NAMES[winner.split(":")[1]]
    told(d, APPLICANT, f"你的报销单 {claim} 已由 {by} 同意，正在等待下一步审批。")
    return answers


async def someone_elses_card(d: Approvals) -> Answer:
    """A colleague clicks the manager's card, then the applicant's: refused, audited, nothing
    changes."""
    request = await d.file_and_submit()
    claim = request.claim_id
    before = len(d.seen(APPLICANT))
    answer = await d.decide(COLLEAGUE, request, "approve")
    assert answer.toast == NOT_YOURS, answer
    trail = await d.audit(claim)
    assert trail[-1] == ("refused", f"{d.platform}:{COLLEAGUE}"), trail
    assert [a for a, _ in trail].count("step_approved") == 0
    waiting(d, MANAGER, claim, "第 1/2 步")
    assert len(d.seen(APPLICANT)) == before and d.seen(FINANCE) == []

    now = status(d, claim)  # the applicant's card: withdrawing is theirs alone
    answer = await d.click(COLLEAGUE, now, "withdraw:")
    assert answer.toast == NOT_THE_APPLICANT, answer
    assert (await d.audit(claim))[len(trail):] == [("refused", f"{d.platform}:{COLLEAGUE}")]
    assert status(d, claim) == now and "审批中" in now.text

    await d.decide(MANAGER, request, "approve")  # the card still works for its approver
    waiting(d, FINANCE, claim, "第 2/2 步")
    return answer


async def reminded_once(d: Approvals, clock: Clock) -> str:
    """Two instances on one Redis, reminders after 24 hours: the due reminder goes out once."""
    second = await d.instance()
    apps: list[web.Application] = [d.client.app, second.app]
    request = await d.file_and_submit()
    claim = request.claim_id
    clock.set(hours=23)
    assert await _sweep(d, apps) == [0, 0]
    assert _reminders(d, MANAGER) == []

    clock.set(hours=25)
    assert await _sweep(d, apps) == [0, 1]
    for app in apps:  # each instance's own loop wakes too: nothing more
        app[REMINDERS].wake()
    await asyncio.sleep(0.1)
    await d.settle()
    assert await _sweep(d, apps[::-1]) == [0, 0]
    reminders = _reminders(d, MANAGER)
    assert len(reminders) == 1 and claim in reminders[0] and "25 小时" in reminders[0]
    assert _reminders(d, APPLICANT) == [] and _reminders(d, FINANCE) == []
    trail = await d.audit(claim)
    assert [a for a, _ in trail].count("reminded") == 1
    cards = of(d, MANAGER, claim)  # the first card, and a fresh one with the reminder
    assert [c.name for c in cards] == ["approval_request"] * 2, cards
    assert live(cards[0]) == live(cards[1]) != ()
    await d.decide(MANAGER, cards[1], "approve")
    decided(d, MANAGER, claim, APPROVED)  # both copies
    waiting(d, FINANCE, claim, "第 2/2 步")
    return claim


async def _sweep(d: Approvals, apps: list[web.Application]) -> list[int]:
    """Both instances sweep at the same moment; how many reminders each sent, sorted."""
    sent = await asyncio.gather(*(app[REMINDERS].sweep() for app in apps))
    await d.settle()
    return sorted(sent)


def _reminders(d: Approvals, user: str) -> list[str]:
    return [t for t in d.texts_to(user) if t.startswith(REMINDER)]
