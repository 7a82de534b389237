"""Department budgets: periods on the configured calendar, what counts as spent, the card line,
the "over_budget" flag, and the extra approval step it can bring."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    BudgetConfig,
    BudgetPeriod,
    CategoryConfig,
    Config,
)
from handlers import budgets as b
from handlers.routing import plan_route
from storage.base import Storage
from storage.models import Claim, ClaimItem, ClaimStatus, Person
from tests.unit.test_routing import POLICY, FakeOrg

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 11:00 on 29 Nov in Shanghai
CATEGORIES = (
    CategoryConfig("taxi", "交通-打车"),
    CategoryConfig("meal", "餐费", block=("over_budget",)),
    CategoryConfig("entertainment", "业务招待"),
)
MONTH = BudgetConfig("市场部", "month", Decimal("10000.00"))
CONFIG = Config(categories=CATEGORIES, budgets=(MONTH,),
                approval=ApprovalConfig(timezone="Asia/Shanghai"))
ME = Person("feishu", "zhangsan", "张三", "d1", "市场部")
OTHER_DEPT = Person("feishu", "zhaoliu", "赵六", "fin", "财务部")
counter = iter(range(1, 10**6))


def claim(
    amount: str = "1000.00", status: ClaimStatus = ClaimStatus.APPROVED,
    created: datetime = NOW - timedelta(days=1), person: Person = ME,
    categories: tuple[str, ...] = ("taxi",), claim_id: str = "",
) -> Claim:
    each = (Decimal(amount) / len(categories)).quantize(Decimal("0.01"))
    items = tuple(ClaimItem(code, each, created.date()) for code in categories)
    return Claim(claim_id or f"BX-2026-{next(counter):06d}", person, items, status, created,
                 created)


# ── periods ────────────────────────────────────────────────────────────────────────────────


def at(text: str, zone: timezone | ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    ("now", "period", "start", "end", "zh", "en"),
    [
        (NOW, "month", at("2026-11-01"), at("2026-12-01"), "11 月", "Nov 2026"),
        (NOW, "quarter", at("2026-10-01"), at("2027-01-01"), "2026 年第 4 季度", "Q4 2026"),
        (NOW, "year", at("2026-01-01"), at("2027-01-01"), "2026 年", "2026"),
        # 16:30 UTC on 31 Dec is already 1 Jan in Shanghai
        (datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "month", at("2027-01-01"), at("2027-02-01"),
         "1 月", "Jan 2027"),
        (datetime(2026, 12, 15, tzinfo=UTC), "month", at("2026-12-01"), at("2027-01-01"),
         "12 月", "Dec 2026"),
        (datetime(2026, 3, 31, 15, 59, tzinfo=UTC), "quarter", at("2026-01-01"), at("2026-04-01"),
         "2026 年第 1 季度", "Q1 2026"),
        (datetime(2026, 3, 31, 16, 0, tzinfo=UTC), "quarter", at("2026-04-01"), at("2026-07-01"),
         "2026 年第 2 季度", "Q2 2026"),
    ],
)
def test_period_on_the_configured_calendar(
    now: datetime, period: BudgetPeriod, start: datetime, end: datetime, zh: str, en: str
) -> None:
    found = b.period_of(now, period, SHANGHAI)
    assert (found.start, found.end, found.zh, found.en) == (start, end, zh, en)


def test_a_fixed_offset_zone_works_too() -> None:
    eight = timezone(timedelta(hours=8))
    found = b.period_of(NOW, "month", eight)
    assert found.start == at("2026-11-01", eight)
    assert b.zone_of(replace(CONFIG, approval=ApprovalConfig(timezone="nowhere"))) is UTC


# ── what counts as spent ──────────────────────────────────────────────────────────────────

NOV_START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)  # 1 Nov 00:00 in Shanghai
DEC_START = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
SELF = claim("1234.50", ClaimStatus.APPROVING, claim_id="BX-2026-999999")


@dataclass(frozen=True)
class Case:
    id: str
    others: tuple[Claim, ...]
    spent: str
    budget: BudgetConfig = MONTH


def case(case_id: str, spent: str, *others: Claim, budget: BudgetConfig = MONTH) -> Case:
    return Case(case_id, others, spent, budget)


SPENT_CASES = [
    case("nothing", "0.00"),
    case("approving", "100.00", claim("100", ClaimStatus.APPROVING)),
    case("approved", "100.00", claim("100", ClaimStatus.APPROVED)),
    case("paid", "100.00", claim("100", ClaimStatus.PAID)),
    case("summed", "350.50", claim("100", ClaimStatus.PAID), claim("250.50")),
    *[case(f"not-{s.value}", "0.00", claim("100", s)) for s in (
        ClaimStatus.DRAFT, ClaimStatus.SUBMITTED, ClaimStatus.RETURNED, ClaimStatus.REJECTED,
        ClaimStatus.WITHDRAWN)],
    case("the-claim-itself", "0.00", SELF),
    case("other-department", "0.00", claim("100", person=OTHER_DEPT)),
    case("by-department-id", "100.00", claim("100"), budget=replace(MONTH, department="d1")),
    case("first-instant", "100.00", claim("100", created=NOV_START)),
    case("last-month", "0.00", claim("100", created=NOV_START - timedelta(microseconds=1))),
    case("utc-date-in-oct", "100.00", claim("100", created=NOV_START + timedelta(hours=1))),
    case("next-month", "0.00", claim("100", created=DEC_START)),
    case("quarter-from-october", "200.00", claim("100", created=NOV_START - timedelta(days=20)),
         claim("100"), budget=replace(MONTH, period="quarter")),
    case("categories-only", "300.00", claim("600", categories=("taxi", "meal")),
         claim("100", categories=("entertainment",)),
         budget=replace(MONTH, categories=("taxi",))),
]


@pytest.mark.parametrize("case", SPENT_CASES, ids=[c.id for c in SPENT_CASES])
def test_spent(case: Case) -> None:
    period = b.period_of(NOW, case.budget.period, SHANGHAI)
    assert b.spent(case.budget, period, case.others, SELF.id) == Decimal(case.spent)


@pytest.mark.parametrize(
    ("budget", "mine", "applies", "share"),
    [
        (MONTH, SELF, True, "1234.50"),
        (replace(MONTH, department="d1"), SELF, True, "1234.50"),
        (replace(MONTH, department="销售部"), SELF, False, "1234.50"),
        (replace(MONTH, categories=("meal",)), SELF, False, "0.00"),
        (replace(MONTH, categories=("meal",)), claim("600", categories=("taxi", "meal")), True,
         "300.00"),
    ],
)
def test_which_budgets_apply(budget: BudgetConfig, mine: Claim, applies: bool, share: str) -> None:
    config = replace(CONFIG, budgets=(budget,))
    assert b.applicable(config, mine) == ([budget] if applies else [])
    assert b.share(budget, mine) == Decimal(share)


# ── the card line and the flag ────────────────────────────────────────────────────────────


def status(spent: str, share: str = "1234.50", **more: object) -> b.BudgetStatus:
    fields: dict[str, object] = {
        "budget": MONTH, "period": b.period_of(NOW, "month", SHANGHAI), "department": "市场部",
        "spent": Decimal(spent), "share": Decimal(share), **more,
    }
    return b.BudgetStatus(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("found", "zh", "en"),
    [
        (status("1235.00"), "市场部 11 月预算剩余 ¥8,765.00（本单 ¥1,234.50）",
         "市场部 budget for Nov 2026: ¥8,765.00 left (this claim ¥1,234.50)"),
        (status("9500.00"), "市场部 11 月预算剩余 ¥500.00（本单 ¥1,234.50，超出 ¥734.50）",
         "市场部 budget for Nov 2026: ¥500.00 left (this claim ¥1,234.50, ¥734.50 over)"),
        (status("10200.00", "100.00"),
         "市场部 11 月预算已超支 ¥200.00（本单 ¥100.00，超出 ¥100.00）",
         "市场部 budget for Nov 2026: overspent by ¥200.00 (this claim ¥100.00, ¥100.00 over)"),
        (status("0.00", "10000.00"), "市场部 11 月预算剩余 ¥10,000.00（本单 ¥10,000.00）",
         "市场部 budget for Nov 2026: ¥10,000.00 left (this claim ¥10,000.00)"),
        (status("0.00", estimated=True, category_names=("餐费",)),
         "市场部 11 月餐费预算剩余 ¥10,000.00（本单 ¥1,234.50）（估算）",
         "市场部 (餐费) budget for Nov 2026: ¥10,000.00 left (this claim ¥1,234.50) (estimate)"),
    ],
)
def test_budget_line(found: b.BudgetStatus, zh: str, en: str) -> None:
    assert b.budget_line([found], "zh-CN") == zh
    assert b.budget_line([found], "en-US") == en


def test_lines_of_several_budgets_are_joined_and_none_is_empty() -> None:
    assert b.budget_line([status("0"), status("0")], "zh-CN").count("；") == 1
    assert b.budget_line([], "zh-CN") == ""


@pytest.mark.parametrize(
    ("found", "mine", "flagged", "blocking"),
    [
        (status("8765.50"), SELF, False, False),  # exactly what is left: not over
        (status("8765.51"), SELF, True, False),
        (status("9000", budget=replace(MONTH, block=True)), SELF, True, True),
        # a category that blocks over_budget blocks when it is in the budget's scope
        (status("9000"), claim("1234.50", categories=("meal",)), True, True),
        (status("9000", budget=replace(MONTH, categories=("taxi",))),
         claim("1234.50", categories=("taxi", "meal")), True, False),
    ],
)
def test_over_budget_flag(
    found: b.BudgetStatus, mine: Claim, flagged: bool, blocking: bool
) -> None:
    flags = b.over_budget_flags([found], mine, CONFIG)
    assert [(f.rule, f.blocking) for f in flags] == ([("over_budget", blocking)] if flagged else [])
    if flags:
        assert flags[0].zh.startswith("超出预算：市场部 11 月预算剩余")


# ── reading the period from storage ───────────────────────────────────────────────────────


class DatedClaims:
    """``claims_by_date`` as the stores do it: UTC dates, inclusive, oldest first, limited."""

    def __init__(self, claims: list[Claim]) -> None:
        self.claims = sorted(claims, key=lambda c: (c.created_at, c.id))
        self.calls: list[tuple[date, date, int]] = []

    async def claims_by_date(self, start: date, end: date, limit: int = 100) -> list[Claim]:
        self.calls.append((start, end, limit))
        return [c for c in self.claims if start <= c.created_at.date() <= end][:limit]


async def test_statuses_read_the_period_once_and_exclude_the_claim() -> None:
    store = DatedClaims([claim("1000"), claim("235.00", created=NOV_START), SELF,
                         claim("99", created=NOV_START - timedelta(seconds=1))])
    config = replace(CONFIG, budgets=(MONTH, replace(MONTH, amount=Decimal("1.00"),
                                                     categories=("taxi",))))
    found = await b.budget_statuses(cast(Storage, store), config, SELF, NOW)
    assert [s.spent for s in found] == [Decimal("1235.00")] * 2
    assert store.calls == [(date(2026, 10, 31), date(2026, 11, 30), b.PAGE)]
    line = b.budget_line(found, "zh-CN")
    assert line.startswith("市场部 11 月预算剩余 ¥8,765.00（本单 ¥1,234.50）；")
    assert [f.rule for f in b.over_budget_flags(found, SELF, config)] == ["over_budget"]


async def test_no_budget_no_read() -> None:
    store = DatedClaims([])
    mine = claim(person=OTHER_DEPT)
    assert await b.budget_statuses(cast(Storage, store), CONFIG, mine, NOW) == []
    assert store.calls == []


async def test_a_crowded_period_is_read_in_bounded_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(b, "PAGE", 3)
    monkeypatch.setattr(b, "MAX_PAGES", 2)
    days = [NOV_START + timedelta(days=d, hours=1) for d in range(10)]
    store = DatedClaims([claim("1", created=day) for day in days])
    found, estimated = await b.claims_created(
        cast(Storage, store), b.period_of(NOW, "month", SHANGHAI))
    assert estimated and len(store.calls) == 2 and len(found) == 5  # one day read twice
    small = DatedClaims([claim("1", created=day) for day in days[:4]])
    found, estimated = await b.claims_created(
        cast(Storage, small), b.period_of(NOW, "month", SHANGHAI))
    assert not estimated and len(found) == 4


# ── the extra approval step ──────────────────────────────────────────────────────────────


async def test_an_over_budget_flag_adds_the_flagged_step() -> None:
    steps = (
        ApprovalStepConfig("直属上级", "manager"),
        ApprovalStepConfig("预算审批", "users:u_x", flags=("over_budget",)),
    )
    person = Person("feishu", "u_emp", "张三", "d_east")
    plain = replace(claim(person=person), status=ClaimStatus.SUBMITTED)
    within = await plan_route(plain, steps, FakeOrg(), POLICY)
    over = await plan_route(replace(plain, flags=("over_budget",)), steps, FakeOrg(), POLICY)
    assert [s.name for s in within] == ["直属上级"]
    assert [s.name for s in over] == ["直属上级", "预算审批"]
