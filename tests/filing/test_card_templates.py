"""Every reply a user can get is in the card templates of all three platforms.

The card names are read from the handlers' source (every ``Card``, ``CardUpdate`` and
``InlineReply``), and each card is rendered for Feishu, WeCom and DingTalk, in both languages,
from data the real builders make (``handlers/cards.py``, ``help_data``, ``prompt_data``) for a
claim in every status — not from the samples. Each rendering must be a card the platform
accepts and must offer every action the data offers.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest

import handlers
from bot.config_model import CategoryConfig, Config
from bot.dispatcher import HandlerContext
from bot.events import Actor, ConversationRef, MessageEvent
from bot.platforms.dingtalk.cards import card_params
from cards import CATALOGUE, MAX_CARD_BYTES, PLATFORMS, render_card
from handlers import workflow as wf
from handlers.cards import (
    approval_request_data,
    decided_data,
    draft_data,
    finance_data,
    list_data,
    status_data,
)
from handlers.drafts import prompt_data
from handlers.help import help_data
from handlers.texts import say
from storage.base import Storage
from storage.models import ApprovalStep, Claim, ClaimItem, ClaimStatus, Person
from tests.filing.drive import strings
from tests.scenario.journey import CATEGORIES

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
NAMES = {"zhangsan": "张三", "lisi": "李四", "zhaoliu": "赵六"}
# Card name arguments: Card(to, name), CardUpdate(claim, match, name), InlineReply(toast, name).
NAME_ARGS = {  # callable → positions of its card-name arguments
    "Card": (1,), "CardUpdate": (1, 2), "InlineReply": (1,),
    "update_cards": (2, 3), "_send_each_in_own_language": (3,),
}
NAME_KEYWORDS = {"name", "match", "card_name"}


def card_names_in_handlers() -> set[str]:
    found: set[str] = set()
    for path in sorted(Path(handlers.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found |= _names_in(node)
    return found


def _names_in(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Constant names, and names a ``for name in (…)`` loop of the function runs through. A
    helper that passes on a name it was given (a parameter) is read at its own call sites."""
    loops = {n.target.id: n.iter for n in ast.walk(function)
             if isinstance(n, ast.For) and isinstance(n.target, ast.Name)}
    params = {a.arg for a in (*function.args.posonlyargs, *function.args.args,
                              *function.args.kwonlyargs)}
    found: set[str] = set()
    for call in ast.walk(function):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id in NAME_ARGS):
            continue
        args = [call.args[i] for i in NAME_ARGS[call.func.id] if i < len(call.args)]
        args += [k.value for k in call.keywords if k.arg in NAME_KEYWORDS]
        for arg in args:
            if isinstance(arg, ast.Name) and arg.id in params and arg.id not in loops:
                continue
            found |= _constants(loops.get(arg.id) if isinstance(arg, ast.Name) else arg, arg)
    return found


def _constants(node: ast.expr | None, arg: ast.expr) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Tuple | ast.List):
        return set().union(*(_constants(e, arg) for e in node.elts))
    raise AssertionError(f"a card name this test cannot read: {ast.unparse(arg)}")


def test_handlers_send_exactly_the_catalogue() -> None:
    assert card_names_in_handlers() == set(CATALOGUE)


# -- the data the handlers build ------------------------------------------------------------
def context(lang: str) -> HandlerContext:
    event = MessageEvent("feishu", "m1", Actor("feishu", "zhangsan"),
                         ConversationRef("feishu", "zhangsan"), "报销")
    config = Config(categories=(*CATEGORIES, *EXTRA_CATEGORIES))
    return HandlerContext(event, cast(Storage, None), config, {}, NOW, lang=lang)


EXTRA_CATEGORIES = tuple(  # more categories than a WeCom card has buttons
    CategoryConfig(f"c{n}", f"类别{n}") for n in range(6)
)
ITEMS = (
    ClaimItem("taxi", Decimal("450.00"), date(2026, 11, 27), '去客户现场 "A&B" **急**',
              ("a" * 64,), "26312000000012345678"),
    ClaimItem("entertainment", Decimal("1189"), date(2026, 11, 22), "与客户午餐",
              ("b" * 64, "c" * 64), extra=(("guests", "3"),)),
)
STEPS = (ApprovalStep("直属上级", ("lisi",), "直属上级（来自通讯录）"),
         ApprovalStep("财务审核", ("zhaoliu",), "所有报销单都需财务审核"))


def claims() -> dict[str, Claim]:
    """One claim in every status the workflow can reach (and a draft with one item)."""
    later = NOW + timedelta(hours=1)
    draft = Claim("BX-2026-000123", Person("feishu", "zhangsan", "张三", "d1", "市场部"),
                  ITEMS, ClaimStatus.DRAFT, NOW, NOW, title="客户现场拜访")
    approving = wf.start_approval(wf.submit(draft, NOW), STEPS, NOW)
    halfway = wf.approve(approving, "lisi", later, "同意")
    approved = wf.approve(halfway, "zhaoliu", later)
    return {
        "draft": draft,
        "one item": replace(draft, items=ITEMS[:1]),
        "cancelled": wf.cancel_draft(draft, later),
        "submitted": wf.submit(draft, NOW),
        "approving": approving,
        "halfway": halfway,
        "approved": approved,
        "paid": wf.mark_paid(approved, "zhaoliu", ["zhaoliu"], later),
        "rejected": wf.reject(halfway, "zhaoliu", "票据不全", later),
        "returned": wf.return_for_changes(approving, "lisi", "请补充客户名称", later),
        "withdrawn": wf.withdraw(halfway, "zhangsan", later),
    }


def replies(lang: str) -> list[tuple[str, dict[str, Any]]]:
    ctx, every = context(lang), claims()
    found: list[tuple[str, dict[str, Any]]] = [("help", help_data(lang))]
    found += prompts(ctx)
    for claim in every.values():
        paid_by = "赵六" if claim.status is ClaimStatus.PAID else ""  # as mark_paid passes it
        found += [("claim_status", status_data(claim, NAMES, ctx)),
                  ("approval_decided", decided_data(claim, NAMES, ctx)),
                  ("finance_notice", finance_data(claim, NAMES, ctx, paid_by=paid_by))]
        if claim.status in (ClaimStatus.DRAFT, ClaimStatus.RETURNED):
            found.append(("claim_draft", draft_data(claim, NAMES, ctx)))
        if claim.status is ClaimStatus.APPROVING:
            found.append(("approval_request", approval_request_data(claim, NAMES, ctx)))
    title = say("mine_title", lang)
    found += [("claim_list", list_data(title, list(every.values()), NAMES, ctx, more=3)),
              ("claim_list", list_data(say("todo_title", lang), [], NAMES, ctx))]
    return found


def prompts(ctx: HandlerContext) -> list[tuple[str, dict[str, Any]]]:
    """The questions ``drafts.ask`` and ``ask_new_item`` put."""
    choices = [{"label": c.name, "action": f"choose:category:{c.code}"}
               for c in ctx.config.categories]
    asked = [
        (say("ask_category", ctx.lang), "category", choices),
        (say("ask_amount", ctx.lang), "amount", []),
        (say("ask_spent_on", ctx.lang), "spent_on", []),
        (say("ask_field", ctx.lang, label="人数"), "field:guests", []),
        (say("describe_expense", ctx.lang), "new_item", []),
    ]
    return [("prompt", prompt_data(ctx, text, field, items)) for text, field, items in asked]


def test_every_card_the_handlers_send_is_among_the_replies_rendered() -> None:
    assert {name for name, _ in replies("zh-CN")} == set(CATALOGUE)


# -- rendered for each platform --------------------------------------------------------------
def accepted(platform: str, card: Any) -> None:
    """What each platform's API (and its fake) insists on."""
    if platform == "feishu":
        assert card["schema"] == "2.0" and "body" in card
        assert len(json.dumps(card, ensure_ascii=False).encode()) <= MAX_CARD_BYTES
    elif platform == "dingtalk":
        assert all(isinstance(v, str) for v in card_params(card).values())
    else:
        assert card["msgtype"] in ("template_card", "text")
        buttons = card.get("template_card", {}).get("button_list", [])
        assert len(buttons) <= 6 and all(len(b["key"].encode()) <= 1024 for b in buttons)


def offered(data: Any) -> set[str]:
    """The action payloads a card's data offers (buttons, choices, list entries)."""
    if isinstance(data, dict):
        own = {v for k, v in data.items() if k in ("action", "open") and isinstance(v, str)}
        actions = data.get("actions")
        own |= set(actions.values()) if isinstance(actions, dict) else set()
        return own.union(*(offered(v) for k, v in data.items() if k != "input"))
    if isinstance(data, list):
        return set().union(*(offered(v) for v in data))
    return set()


@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_reply_renders_on_every_platform(platform: str, lang: str) -> None:
    for name, data in replies(lang):
        card = render_card(platform, name, data, lang)
        accepted(platform, card)
        shown = "\n".join(strings(card))
        missing = {a for a in offered(data) if a not in shown} - beyond_limits(platform, name, data)
        assert not missing, f"{platform}/{name} ({lang}) lacks buttons for {missing}"


def beyond_limits(platform: str, name: str, data: dict[str, Any]) -> set[str]:
    """Actions a WeCom card has no room for: choices past 6 buttons (the user types instead),
    claims past 4 rows (counted on the card; "BX-…" shows any claim)."""
    key, room = {"prompt": ("choices", 6), "claim_list": ("claims", 4)}.get(name, ("", 0))
    if platform != "wecom" or not key:
        return set()
    return offered(data[key][room:])
