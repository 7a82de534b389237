"""The reminder rules as tables: due or not, quiet hours, escalation, time zones, texts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.config_model import ApprovalConfig
from handlers.reminders import (
    ReminderPolicy,
    due_at,
    escalates,
    escalation_text,
    in_quiet_hours,
    reminder_due,
    reminder_event,
    reminder_key,
    reminder_text,
    waited_text,
    waiting_since,
)
from storage.models import ApprovalStep, Claim, ClaimItem, ClaimStatus, Decision, Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)


def local(day: int, hour: int, minute: int = 0, zone: timezone | ZoneInfo = SHANGHAI) -> datetime:
    """A moment in November 2026 on ``zone``'s wall clock, as UTC (as storage keeps it)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=zone).astimezone(UTC)


def policy(after: float = 24, every: float = 24, quiet: str = "22:00-08:00",
           escalate: int = 0, zone: str = "Asia/Shanghai") -> ReminderPolicy:
    config = ApprovalConfig(remind_after_hours=1, quiet_hours=quiet,
                            escalate_after_reminders=escalate, timezone=zone)
    made = ReminderPolicy.from_config(config)
    assert made is not None
    return replace(made, after=after * H, every=every * H)


DUE = [
    # (case, policy, waiting since, now, reminder due)
    ("too early", policy(), local(2, 10), local(3, 9, 59), 0),
    ("first", policy(), local(2, 10), local(3, 10), 1),
    ("first still", policy(), local(2, 10), local(3, 21, 59), 1),
    ("second", policy(), local(2, 10), local(4, 10), 2),
    ("tenth", policy(), local(2, 10), local(11, 12), 9),
    ("every differs", policy(after=24, every=4), local(2, 10), local(3, 18), 3),
    ("quiet: due at 22:00 waits", policy(after=10), local(2, 12), local(2, 22), 0),
    ("quiet: past midnight", policy(after=10), local(2, 12), local(3, 3), 0),
    ("quiet: a minute before the end", policy(after=10), local(2, 12), local(3, 7, 59), 0),
    ("quiet: out at the end", policy(after=10), local(2, 12), local(3, 8), 1),
    ("quiet: a night of them is one", policy(after=1, every=1), local(2, 20), local(3, 8), 2),
    ("quiet: then hourly again", policy(after=1, every=1), local(2, 20), local(3, 9), 3),
    ("quiet: inside, the one before", policy(after=1, every=1), local(2, 20), local(3, 2), 1),
    ("quiet: before it starts", policy(after=1, every=1), local(2, 20), local(2, 21, 59), 1),
    ("no quiet hours", policy(after=10, quiet=""), local(2, 12), local(2, 23), 1),
    ("lunch break", policy(after=2, quiet="12:00-13:30"), local(2, 10), local(2, 13), 0),
    ("after lunch", policy(after=2, quiet="12:00-13:30"), local(2, 10), local(2, 13, 30), 1),
    # 16:30 UTC is 00:30 in Shanghai (quiet) but mid-afternoon on UTC's own clock
    ("zone: Shanghai night", policy(after=16), local(2, 0, 0, UTC), local(2, 16, 30, UTC), 0),
    ("zone: UTC afternoon", policy(after=16, zone="UTC"), local(2, 0, 0, UTC),
     local(2, 16, 30, UTC), 1),
    ("zone: fixed offset", policy(after=16, zone="+08:00"), local(2, 0, 0, UTC),
     local(2, 16, 30, UTC), 0),
    ("zone: west of UTC", policy(after=16, zone="-05:00"), local(2, 0, 0, UTC),
     local(2, 16, 30, UTC), 1),
]


@pytest.mark.parametrize(("rule", "since", "now", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in DUE])
def test_which_reminder_is_due(rule: ReminderPolicy, since: datetime, now: datetime,
                               expected: int) -> None:
    assert reminder_due(since, now, rule) == expected


DUE_AT = [
    ("not quiet", policy(), local(2, 10), 1, local(3, 10)),
    ("second", policy(), local(2, 10), 2, local(4, 10)),
    ("deferred before midnight", policy(after=10), local(2, 12), 1, local(3, 8)),
    ("deferred after midnight", policy(after=15), local(2, 12), 1, local(3, 8)),
    ("interval after the deferred", policy(after=10, every=6), local(2, 12), 2, local(3, 14)),
    ("same day window", policy(after=2, quiet="12:00-13:30"), local(2, 10), 1, local(2, 13, 30)),
    ("on UTC's clock", policy(after=10, zone="UTC"), local(2, 12, 0, UTC), 1, local(3, 8, 0, UTC)),
]


@pytest.mark.parametrize(("rule", "since", "n", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in DUE_AT])
def test_when_a_reminder_goes_out(rule: ReminderPolicy, since: datetime, n: int,
                                  expected: datetime) -> None:
    assert due_at(since, n, rule) == expected
    assert not in_quiet_hours(due_at(since, n, rule), rule)
    assert reminder_due(since, due_at(since, n, rule), rule) == n
    assert reminder_due(since, due_at(since, n, rule) - timedelta(seconds=1), rule) == n - 1


@pytest.mark.parametrize(("n", "after", "expected"), [
    (1, 0, False), (5, 0, False), (1, 2, False), (2, 2, False), (3, 2, True), (9, 2, True),
    (1, 1, False), (2, 1, True),
])
def test_escalation_comes_after_the_configured_reminders(n: int, after: int,
                                                         expected: bool) -> None:
    assert escalates(n, policy(escalate=after)) is expected


def test_policy_from_config() -> None:
    assert ReminderPolicy.from_config(ApprovalConfig()) is None
    made = ReminderPolicy.from_config(ApprovalConfig(remind_after_hours=8))
    assert made is not None
    assert (made.after, made.every, made.quiet, made.escalate_after) == (8 * H, 8 * H, None, 0)
    assert made.zone == SHANGHAI
    made = ReminderPolicy.from_config(ApprovalConfig(
        remind_after_hours=8, remind_every_hours=24, quiet_hours="22:30-07:15", timezone="UTC",
        escalate_after_reminders=2))
    assert made is not None
    assert (made.every, made.quiet, made.zone) == (24 * H, (time(22, 30), time(7, 15)), UTC)


def claim(step: int = 0, version: int = 4) -> Claim:
    first = ApprovalStep("直属上级", ("lisi",), decision=Decision.APPROVE if step else None,
                         decided_by="lisi" if step else "",
                         decided_at=local(3, 15) if step else None)
    return Claim(
        "BX-2026-000007", Person("feishu", "zhangsan", "张三"),
        (ClaimItem("taxi", Decimal("1234.5"), date(2026, 11, 1)),), ClaimStatus.APPROVING,
        local(1, 9), local(3, 15), (first, ApprovalStep("财务审核", ("zhaoliu",))),
        current_step=step, version=version,
    )


@pytest.mark.parametrize(("case", "subject", "submitted", "expected"), [
    ("first step: the submission", claim(), [local(2, 10)], local(2, 10)),
    ("resubmitted: the latest", claim(), [local(1, 10), local(2, 10)], local(2, 10)),
    ("later step: previous decision", claim(step=1), [local(2, 10)], local(3, 15)),
    ("no trail: last change", claim(), [], local(3, 15)),
])
def test_waiting_since(case: str, subject: Claim, submitted: list[datetime],
                       expected: datetime) -> None:
    assert waiting_since(subject, submitted) == expected


@pytest.mark.parametrize(("waited", "lang", "expected"), [
    (26 * H, "zh-CN", "26 小时"),
    (47.9 * H, "zh-CN", "47 小时"),
    (48 * H, "zh-CN", "2 天"),
    (76 * H, "zh-CN", "3 天 4 小时"),
    (5 * H, "en-US", "5 hours"),
    (76 * H, "en-US", "3 days 4 hours"),
    (-H, "zh-CN", "0 小时"),
])
def test_waited_text(waited: timedelta, lang: str, expected: str) -> None:
    assert waited_text(waited, lang) == expected


def test_texts_name_the_claim_and_count() -> None:
    first = reminder_text(claim(), 1, 26 * H, "zh-CN")
    assert first == ("⏰ 催办：张三的报销单 BX-2026-000007（¥1,234.50）在“直属上级”已等待你审批 "
                     "26 小时，请尽快处理。")
    assert reminder_text(claim(), 3, 74 * H, "zh-CN").endswith("（第 3 次提醒）")
    english = reminder_text(claim(step=1), 2, 30 * H, "en-US")
    assert english == ("⏰ Reminder: 张三's claim BX-2026-000007 (¥1,234.50) has waited 30 hours "
                       "for your approval at \"财务审核\". (reminder 2)")
    escalation = escalation_text(claim(), 3, 72 * H, "李四", "zh-CN")
    assert "等待 李四 审批已 3 天" in escalation and "提醒 3 次" in escalation
    assert "3 reminders" in escalation_text(claim(), 3, 72 * H, "李四", "en-US")
    assert reminder_text(claim(), 1, H, "fr-FR").startswith("⏰ 催办")


def test_each_wait_has_its_own_keys() -> None:
    assert reminder_key(claim(), 1) != reminder_key(claim(), 2)
    assert reminder_key(claim(), 1) != reminder_key(claim(version=5), 1)
    event = reminder_event(claim(), 2, local(2, 10))
    assert event.action == "remind:BX-2026-000007:4"
    assert event.form == {"n": "2", "since": local(2, 10).isoformat()}
    assert event.event_id == f"remind:{reminder_key(claim(), 2)}"
    assert event.platform == "feishu" and event.actor.user_id == "claimbot-reminders"
