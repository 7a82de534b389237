"""The decided card of a claim withdrawn after a step was approved shows the withdrawal."""

from __future__ import annotations

from datetime import timedelta

from handlers import workflow as wf
from handlers.cards import decided_data
from tests.filing.test_card_templates import NAMES, NOW, claims, context


def test_withdrawn_after_a_step_shows_the_withdrawal_not_the_step() -> None:
    halfway = claims()["halfway"]  # 李四 approved with the comment 同意
    withdrawn = wf.withdraw(halfway, "zhangsan", NOW + timedelta(days=2))
    decision = decided_data(withdrawn, NAMES, context("zh-CN"))["decision"]
    assert decision["kind"] == "withdrawn" and decision["by"] == "张三"
    assert decision["at"] == "2026-11-30 17:30"  # Asia/Shanghai, the default zone
    assert decision["comment"] == ""


def test_times_on_cards_are_on_the_configured_wall_clock() -> None:
    from handlers.cards import list_data, status_data

    ctx = context("zh-CN")
    late = claims()["halfway"]  # created 09:30 UTC, 李四 decided 10:30 UTC
    view = status_data(late, NAMES, ctx)["claim"]
    assert view["created_at"] == "2026-11-28 17:30"
    assert view["steps"][0]["at"] == "2026-11-28 18:30"
    assert list_data("", [late], NAMES, ctx)["claims"][0]["created_at"] == "2026-11-28"
