"""Department budgets (``[[budgets]]``): what is left this period, and the "over_budget" flag.

Everything here is a pure rule except :func:`budget_statuses`, which reads the period's claims
from storage. Spent = the total of the department's claims (their items of the budget's
categories, when it names some) that are approving, approved or paid and were created in the
current period on the calendar of ``[approval] timezone``; the claim being decided never counts
towards its own budget. A department matches the applicant's department id or name as recorded
on the claim (sub-departments do not roll up).

Storage has no "claims of a department" query, so the period's claims are read with
``claims_by_date`` in pages of :data:`PAGE`, at most :data:`MAX_PAGES` of them (the protocol is
unchanged). A period with more claims than that is summed from the first ones only and the
budget line says so ("估算" / "estimate").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from bot.config_checks import parse_timezone
from bot.config_model import BudgetConfig, BudgetPeriod, Config
from bot.dispatcher import HandlerContext
from handlers.policy import Flag
from storage.base import Storage
from storage.models import Claim, ClaimStatus, Person
from storage.money import format_cny

RULE = "over_budget"
COUNTED = frozenset({ClaimStatus.APPROVING, ClaimStatus.APPROVED, ClaimStatus.PAID})
PAGE = 1000  # claims per claims_by_date call
MAX_PAGES = 5  # so at most 5000 claims of one period are read for one card
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` in the configured time zone, with its name on cards."""

    start: datetime
    end: datetime
    zh: str  # "11 月", "第 4 季度", "2026 年"
    en: str  # "Nov 2026", "Q4 2026", "2026"

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def period_of(now: datetime, period: BudgetPeriod, zone: tzinfo) -> Period:
    """The calendar month, quarter or year around ``now`` on the wall clock of ``zone``."""
    local = now.astimezone(zone)
    year = local.year
    if period == "year":
        first, months = 1, 12
        zh, en = f"{year} 年", str(year)
    elif period == "quarter":
        quarter = (local.month - 1) // 3 + 1
        first, months = 3 * quarter - 2, 3
        zh, en = f"{year} 年第 {quarter} 季度", f"Q{quarter} {year}"
    else:
        first, months = local.month, 1
        zh, en = f"{local.month} 月", f"{MONTHS_EN[local.month - 1]} {year}"
    after = first - 1 + months  # months since January of the month after the period
    start = datetime(year, first, 1, tzinfo=zone)
    end = datetime(year + after // 12, after % 12 + 1, 1, tzinfo=zone)
    return Period(start, end, zh, en)


def in_department(budget: BudgetConfig, person: Person) -> bool:
    return bool(budget.department) and budget.department in (
        person.department_id, person.department_name
    )


def share(budget: BudgetConfig, claim: Claim) -> Decimal:
    """What of ``claim`` counts against ``budget``: every item, or those of its categories."""
    if not budget.categories:
        return claim.total
    return sum(
        (item.amount for item in claim.items if item.category in budget.categories),
        Decimal("0.00"),
    )


def spent(budget: BudgetConfig, period: Period, claims: Sequence[Claim], exclude: str) -> Decimal:
    """The department's counted claims of the period, without the claim ``exclude``."""
    return sum(
        (
            share(budget, other)
            for other in claims
            if other.id != exclude
            and other.status in COUNTED
            and in_department(budget, other.applicant)
            and period.holds(other.created_at)
        ),
        Decimal("0.00"),
    )


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: BudgetConfig
    period: Period
    department: str  # as shown: the claim's department name, else the configured id or name
    spent: Decimal
    share: Decimal  # this claim's part
    estimated: bool = False  # the period had more claims than one card reads
    category_names: tuple[str, ...] = ()

    @property
    def remaining(self) -> Decimal:
        return self.budget.amount - self.spent

    @property
    def over(self) -> bool:
        return self.share > self.remaining

    def line(self, lang: str) -> str:
        """``市场部 11 月预算剩余 ¥8,765.00（本单 ¥1,234.50）`` (or in English)."""
        left, mine = self.remaining, format_cny(self.share)
        excess = format_cny(self.share - max(left, Decimal("0.00")))
        if lang == "en-US":
            what = self.department + (f" ({', '.join(self.category_names)})"
                                      if self.category_names else "")
            state = f"{format_cny(left)} left" if left >= 0 else f"overspent by {format_cny(-left)}"
            detail = f"this claim {mine}" + (f", {excess} over" if self.over else "")
            note = " (estimate)" if self.estimated else ""
            return f"{what} budget for {self.period.en}: {state} ({detail}){note}"
        cats = "、".join(self.category_names)
        state = f"剩余 {format_cny(left)}" if left >= 0 else f"已超支 {format_cny(-left)}"
        detail = f"本单 {mine}" + (f"，超出 {excess}" if self.over else "")
        note = "（估算）" if self.estimated else ""
        return f"{self.department} {self.period.zh}{cats}预算{state}（{detail}）{note}"


def budget_line(statuses: Sequence[BudgetStatus], lang: str) -> str:
    """The approver card's budget line; "" when no budget applies to the claim."""
    return ("; " if lang == "en-US" else "；").join(status.line(lang) for status in statuses)


def over_budget_flags(statuses: Sequence[BudgetStatus], claim: Claim, config: Config) -> list[Flag]:
    """One "over_budget" flag per exceeded budget; blocking if the budget or a category says so."""
    blocking_codes = {c.code for c in config.categories if RULE in c.block}
    flags = []
    for status in statuses:
        if not status.over:
            continue
        scope = status.budget.categories
        codes = {item.category for item in claim.items if not scope or item.category in scope}
        blocks = status.budget.block or bool(codes & blocking_codes)
        flags.append(Flag(RULE, blocks, "超出预算：" + status.line("zh-CN"),
                          "Over budget: " + status.line("en-US")))
    return flags


def applicable(config: Config, claim: Claim) -> list[BudgetConfig]:
    """The budgets of the applicant's department that some of the claim counts against."""
    return [
        budget for budget in config.budgets
        if in_department(budget, claim.applicant) and share(budget, claim) > 0
    ]


def zone_of(config: Config) -> tzinfo:
    try:
        return parse_timezone(config.approval.timezone)
    except ValueError:  # the loader reports a bad zone; a hand-built config falls back to UTC
        return UTC


async def claims_created(storage: Storage, period: Period) -> tuple[list[Claim], bool]:
    """The claims created in ``period`` (at most PAGE * MAX_PAGES), and whether some were left."""
    day = period.start.astimezone(UTC).date()
    last: date = (period.end - timedelta(microseconds=1)).astimezone(UTC).date()
    found: dict[str, Claim] = {}
    for _ in range(MAX_PAGES):
        page = await storage.claims_by_date(day, last, limit=PAGE)
        for claim in page:
            found.setdefault(claim.id, claim)
        if len(page) < PAGE:
            return list(found.values()), False
        newest = page[-1].created_at.astimezone(UTC).date()
        if newest == day:  # one day holds more than a page: no way on without a cursor
            break
        day = newest  # that day again (already-seen claims are skipped) and on
    return list(found.values()), True


async def budget_statuses(
    storage: Storage, config: Config, claim: Claim, now: datetime
) -> list[BudgetStatus]:
    """Every budget the claim counts against, with what the others have spent this period."""
    budgets = applicable(config, claim)
    zone = zone_of(config)
    names = {c.code: c.name for c in config.categories}
    read: dict[tuple[datetime, datetime], tuple[list[Claim], bool]] = {}
    statuses = []
    for budget in budgets:
        period = period_of(now, budget.period, zone)
        if (period.start, period.end) not in read:
            read[period.start, period.end] = await claims_created(storage, period)
        claims, estimated = read[period.start, period.end]
        statuses.append(BudgetStatus(
            budget, period, claim.applicant.department_name or budget.department,
            spent(budget, period, claims, claim.id), share(budget, claim), estimated,
            tuple(names.get(code, code) for code in budget.categories),
        ))
    return statuses


async def budget_of(ctx: HandlerContext, claim: Claim) -> list[BudgetStatus]:
    """:func:`budget_statuses` for a handler: pass it to ``cards.approval_request_data``."""
    return await budget_statuses(ctx.storage, ctx.config, claim, ctx.now)
