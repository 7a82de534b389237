"""Every WeCom card renders sample and hostile data to a valid message within WeCom's limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cards import CATALOGUE, MAX_CARD_BYTES, render_card
from cards.samples import hostile, sample

HOSTILE = [
    '"}], "button_list": [{"key": "approve:BX-1:9"}], "x": ["',
    "{{ 7 * 7 }}{% raw %}",
    "]]><xml><MsgType>update_button</MsgType></xml>",
    "\\u0022\n\r\t\x00<script>*_`[link](http://evil)",
    "长" * 400,
]


def shape(value: Any, path: str = "") -> set[str]:
    """The card's structure: every key path (list positions folded) with its value type."""
    if isinstance(value, dict):
        return {p for k, v in value.items() for p in shape(v, f"{path}.{k}")} | {path}
    if isinstance(value, list):
        return {p for v in value for p in shape(v, f"{path}[]")} | {path + "[]"}
    return {f"{path}:{type(value).__name__}"}


def keys(card: dict[str, Any]) -> list[str]:
    body = card.get("template_card", {})
    return [b["key"] for b in body.get("button_list", [])]


def actions(card: dict[str, Any]) -> list[str]:
    """The button keys that carry an action payload (``noop:<claim>`` names only the claim)."""
    return [key for key in keys(card) if not key.startswith("noop:")]


@pytest.mark.parametrize("name", CATALOGUE)
@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
def test_sample_renders_to_a_message(name: str, lang: str) -> None:
    message = render_card("wecom", name, sample(name), lang)
    assert message["msgtype"] in message
    assert len(json.dumps(message, ensure_ascii=False).encode()) < MAX_CARD_BYTES
    card = message.get("template_card")
    if card is not None:
        check_limits(card)


def check_limits(card: dict[str, Any]) -> None:
    assert card["card_type"] == "button_interaction"
    assert card["main_title"]["title"]
    buttons = card["button_list"]
    assert 1 <= len(buttons) <= 6
    assert all(len(b["key"].encode()) <= 1024 for b in buttons)
    assert len({b["key"] for b in buttons}) == len(buttons)
    assert len(card.get("horizontal_content_list", [])) <= 6
    assert len(card.get("vertical_content_list", [])) <= 4
    options = card.get("button_selection", {}).get("option_list", [])
    assert len(options) <= 10
    assert all(len(o["id"].encode()) <= 128 for o in options)
    assert len({o["id"] for o in options}) == len(options)


@pytest.mark.parametrize("name", CATALOGUE)
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_cannot_change_a_card(name: str, text: str) -> None:
    expected = render_card("wecom", name, hostile(sample(name), "plain"))
    message = render_card("wecom", name, hostile(sample(name), text))
    assert shape(message) == shape(expected)
    assert actions(message) == actions(expected)
    if "template_card" in message:
        check_limits(message["template_card"])


def test_approval_request_offers_the_preset_reasons_with_other_selected() -> None:
    card = render_card("wecom", "approval_request", sample("approval_request"))["template_card"]
    selection = card["button_selection"]
    assert selection["question_key"] == "reason"
    assert [o["id"] for o in selection["option_list"]] == [
        "票据不全",
        "超出标准",
        "与业务无关",
        "other",
    ]
    assert selection["selected_id"] == "other"


def test_no_reject_action_means_no_reasons() -> None:
    data = sample("approval_request")
    del data["actions"]["reject"]
    card = render_card("wecom", "approval_request", data)["template_card"]
    assert "button_selection" not in card
    assert keys({"template_card": card}) == ["approve:BX-2026-000123:4", "return:BX-2026-000123:4"]


def test_a_status_without_actions_is_greyed_out() -> None:
    data = sample("claim_status")
    data["actions"] = {}
    card = render_card("wecom", "claim_status", data)["template_card"]
    assert card["replace_text"] == "审批中"


def test_a_paid_notice_is_greyed_out() -> None:
    data = sample("finance_notice")
    data["paid"] = {"by": "钱七", "at": "2026-11-30 10:00"}
    card = render_card("wecom", "finance_notice", data)["template_card"]
    assert card["replace_text"].startswith("已付款")


def test_a_long_list_shows_four_and_counts_the_rest() -> None:
    data = sample("claim_list")
    data["claims"] = data["claims"] * 3
    card = render_card("wecom", "claim_list", data)["template_card"]
    assert len(card["vertical_content_list"]) == 4
    assert card["main_title"]["desc"] == "+5"


def test_an_empty_list_is_a_text_message() -> None:
    data = sample("claim_list")
    data["claims"], data["more"] = [], 0
    message = render_card("wecom", "claim_list", data)
    assert message["msgtype"] == "text"
    assert "暂无报销单" in message["text"]["content"]


def test_a_prompt_without_choices_is_a_text_message() -> None:
    data = sample("prompt")
    data["choices"] = []
    message = render_card("wecom", "prompt", data)
    assert message == {
        "msgtype": "text",
        "text": {"content": "这笔费用属于哪一类？\n也可以直接回复文字"},
    }


def payloads(data: Any) -> set[str]:
    """Every action payload in a sample: ``actions`` values, ``open`` and ``action`` strings."""
    if isinstance(data, dict):
        found = {v for k, v in data.items() if k in ("open", "action") and isinstance(v, str)}
        found |= set(data.get("actions", {}).values())
        return found | {p for v in data.values() for p in payloads(v)}
    if isinstance(data, list):
        return {p for v in data for p in payloads(v)}
    return set()


@pytest.mark.parametrize("name", CATALOGUE)
def test_every_action_in_the_data_is_a_button(name: str) -> None:
    message = render_card("wecom", name, sample(name))
    assert {key.partition("?")[0] for key in actions(message)} == payloads(sample(name))
