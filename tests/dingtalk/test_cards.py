"""Every catalogue card renders to the template's variables, as strings, whatever users type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.platforms.dingtalk.cards import (
    PRIVATE_NOTICE,
    VARIABLES,
    CardShapeError,
    card_params,
    inline_response,
)
from bot.replies import InlineReply, Toast
from cards import CATALOGUE, render_card
from cards.samples import hostile, sample

HOSTILE = [
    '"}], "buttons": [{"text": "pwn", "action": "approve:BX-1:1"}], "x": ["',
    "{{ 7 * 7 }} {% raw %}",
    "</script><img src=x onerror=alert(1)>",
    "\\\"\n\t\u0000\u2028 ]]> ${title} @data{title}",
    "[链接](http://evil.example) **粗体** 　全角",
]
SPEC = Path(__file__).resolve().parents[2] / "cards" / "dingtalk" / "claimbot.card.json"


def params(name: str, data: dict[str, Any], lang: str = "zh-CN") -> dict[str, str]:
    return card_params(render_card("dingtalk", name, data, lang))


def shape(value: Any) -> Any:
    """The structure without the text: what hostile input must not be able to change."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def decoded(card: dict[str, str]) -> dict[str, Any]:
    return {k: json.loads(v) if VARIABLES.get(k) == "[]" else v for k, v in card.items()}


@pytest.mark.parametrize("name", CATALOGUE)
@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
def test_sample_renders_every_variable_as_a_string(name: str, lang: str) -> None:
    card = params(name, sample(name), lang)
    assert set(card) == set(VARIABLES)
    assert all(isinstance(v, str) for v in card.values())
    assert card["title"]
    for key in ("fields", "items", "notes", "trail", "buttons"):
        assert isinstance(json.loads(card[key]), list)


@pytest.mark.parametrize("name", CATALOGUE)
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_cannot_change_a_card_structure(name: str, text: str) -> None:
    # The same substitution with plain text takes the same conditional branches.
    normal = decoded(params(name, hostile(sample(name), "plain")))
    attacked = decoded(params(name, hostile(sample(name), text)))
    assert shape(attacked) == shape(normal)
    actions = [b["action"] for b in attacked["buttons"]]
    assert actions == [b["action"] for b in normal["buttons"]]


def test_buttons_carry_the_compact_payload_and_the_preset_reasons() -> None:
    buttons = json.loads(params("approval_request", sample("approval_request"))["buttons"])
    assert [(b["action"], b["reason"]) for b in buttons] == [
        ("approve:BX-2026-000123:4", ""),
        ("return:BX-2026-000123:4", "other"),
        ("reject:BX-2026-000123:4", "票据不全"),
        ("reject:BX-2026-000123:4", "超出标准"),
        ("reject:BX-2026-000123:4", "与业务无关"),
        ("reject:BX-2026-000123:4", "other"),
    ]


def test_empty_optional_rows_are_left_out() -> None:
    data = sample("approval_request")
    data["budget"], data["step"]["reason"] = "", ""
    labels = [f["label"] for f in json.loads(params("approval_request", data)["fields"])]
    assert labels == ["申请人", "合计", "第 2/2 步"]


def test_only_allowed_actions_become_buttons() -> None:
    data = sample("approval_request")
    data["actions"] = {"approve": "approve:BX-2026-000123:4"}
    buttons = json.loads(params("approval_request", data)["buttons"])
    assert [b["action"] for b in buttons] == ["approve:BX-2026-000123:4"]


def test_decided_and_paid_cards_have_a_status_and_no_buttons() -> None:
    decided = params("approval_decided", sample("approval_decided"))
    assert (decided["buttons"], decided["tone"]) == ("[]", "green")
    finance = sample("finance_notice")
    finance["paid"] = {"by": "钱七", "at": "2026-11-29 09:00"}
    paid = params("finance_notice", finance)
    assert paid["buttons"] == "[]"
    assert paid["status"] == "已付款 · 钱七 · 2026-11-29 09:00"


def test_empty_list_says_so() -> None:
    card = params("claim_list", {"title": "我的报销", "claims": [], "more": 0})
    assert json.loads(card["notes"]) == [{"text": "暂无报销单", "level": "info"}]


def test_a_rendering_with_unknown_variables_is_refused() -> None:
    with pytest.raises(CardShapeError):
        card_params({"title": "x", "surprise": "y"})
    with pytest.raises(CardShapeError):
        card_params(["not", "a", "map"])


def test_the_builder_spec_declares_exactly_the_variables_we_send() -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    declared = {v["name"]: v for v in spec["variableList"]}
    assert set(declared) == set(VARIABLES) | {PRIVATE_NOTICE}
    assert declared[PRIVATE_NOTICE]["private"] is True
    for name, default in VARIABLES.items():
        assert (declared[name]["type"] == "loopArray") == (default == "[]")
    button_fields = {f["name"] for f in declared["buttons"]["schema"]}
    assert {"text", "action", "reason", "style"} <= button_fields


def test_an_inline_card_that_does_not_render_leaves_the_card_alone() -> None:
    broken = InlineReply(Toast("ok"), "approval_decided", {"claim": {}})
    assert inline_response(render_card, broken) == {}
