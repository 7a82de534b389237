"""``[[budgets]]``: a department's budget per calendar period (used by ``handlers.budgets``)."""

from __future__ import annotations

from decimal import Decimal
from typing import cast, get_args

from bot.config_checks import Table
from bot.config_model import BudgetConfig, BudgetPeriod, CategoryConfig


def build_budget(table: Table, codes: frozenset[str]) -> BudgetConfig:
    department = table.text("department", required=True).strip()
    amount = table.money("amount")
    if amount is None and table.data.get("amount") is None:
        table.problem("amount", 'required (a quoted decimal such as "50000.00")')
    categories = table.strings("categories")
    for code in categories:
        if code not in codes:
            table.problem("categories", f"unknown category {code!r} (not a [[categories]] code)")
    budget = BudgetConfig(
        department=department,
        period=cast(BudgetPeriod, table.choice("period", get_args(BudgetPeriod), "month")),
        amount=amount if amount is not None else Decimal("0.00"),
        categories=tuple(sorted(set(categories))),
        block=table.boolean("block", False),
    )
    if table.data.get("period") is None:
        table.problem("period", f"required ({' | '.join(get_args(BudgetPeriod))})")
    table.finish()
    return budget


def build_budgets(
    tables: list[Table], categories: tuple[CategoryConfig, ...]
) -> tuple[BudgetConfig, ...]:
    """Every ``[[budgets]]`` table; two for the same department, period and categories clash."""
    codes = frozenset(category.code for category in categories)
    budgets = tuple(build_budget(table, codes) for table in tables)
    seen: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for index, (table, budget) in enumerate(zip(tables, budgets, strict=True)):
        key = (budget.department, budget.period, budget.categories)
        first = seen.setdefault(key, index)
        if budget.department and first != index:
            table.problem(
                "department",
                f"budgets[{first}] already sets the {budget.period} budget of "
                f"{budget.department!r} for the same categories",
            )
    return budgets
