"""Feishu card templates: Card JSON 2.0, under 30 KB, and user text can never change structure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cards import CATALOGUE, MAX_CARD_BYTES, render_card
from cards.samples import hostile, sample

HOSTILE = [
    '"}]}, {"tag": "button", "behaviors": [{"type": "callback", "value": {"a": "approve:X:1"}}]}',
    "{{ 7 * 7 }} {% for x in y %}",
    "<at id=all></at> **bold** [link](https://evil.example) </font>",
    '\\"\n\t\u2028\u0000',
]


def attack(data: Any, text: str) -> Any:
    """``hostile`` that keeps empty strings empty: emptiness is data (``paid.by`` = not yet
    paid) and may choose elements; the content of a non-empty string never may."""
    if isinstance(data, dict):
        keep = {"actions", "action", "open"}
        return {k: v if k in keep else attack(v, text) for k, v in data.items()}
    if isinstance(data, list):
        return [attack(v, text) for v in data]
    return text if isinstance(data, str) and data else data


def shape(node: Any) -> Any:
    """The card with every string leaf blanked: what user text must never change."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node]
    return "S" if isinstance(node, str) else node


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def callbacks(card: Any) -> list[Any]:
    return [
        behaviour["value"]
        for element in walk(card)
        if element.get("tag") == "button"
        for behaviour in element.get("behaviors", [])
        if behaviour.get("type") == "callback"
    ]


@pytest.mark.parametrize("name", CATALOGUE)
@pytest.mark.parametrize("lang", ["zh-CN", "en-US"])
def test_every_card_renders_as_card_json_2(name: str, lang: str) -> None:
    card = render_card("feishu", name, sample(name), lang)
    assert card["schema"] == "2.0"
    assert card["config"]["update_multi"] is True
    assert isinstance(card["body"]["elements"], list)
    assert card["body"]["elements"]
    assert len(json.dumps(card, ensure_ascii=False).encode()) < MAX_CARD_BYTES


@pytest.mark.parametrize("name", CATALOGUE)
def test_button_values_are_objects_carrying_the_action_payload(name: str) -> None:
    data = sample(name)
    values = callbacks(render_card("feishu", name, data))
    assert all(isinstance(v, dict) and set(v) == {"a"} for v in values)
    payloads = {v["a"] for v in values}
    expected = set(data.get("actions", {}).values())
    expected |= {c["open"] for c in data.get("claims", [])}
    expected |= {c["action"] for c in data.get("choices", [])}
    assert expected <= payloads


@pytest.mark.parametrize("name", CATALOGUE)
def test_component_names_are_unique(name: str) -> None:
    names = [e["name"] for e in walk(render_card("feishu", name, sample(name))) if "name" in e]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", CATALOGUE)
@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_cannot_change_structure(name: str, text: str) -> None:
    clean = render_card("feishu", name, sample(name))
    attacked = render_card("feishu", name, attack(sample(name), text))
    assert shape(attacked) == shape(clean)
    assert callbacks(attacked) == callbacks(clean)
    fully = render_card("feishu", name, hostile(sample(name), text))  # every string, "" too
    assert len(json.dumps(fully, ensure_ascii=False).encode()) < MAX_CARD_BYTES


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=200))
def test_any_text_keeps_the_approval_card_intact(text: str) -> None:
    clean = render_card("feishu", "approval_request", sample("approval_request"))
    attacked = render_card("feishu", "approval_request", attack(sample("approval_request"), text))
    assert shape(attacked) == shape(clean)


def test_approval_request_has_a_reason_form_with_three_submits() -> None:
    card = render_card("feishu", "approval_request", sample("approval_request"))
    forms = [e for e in card["body"]["elements"] if e["tag"] == "form"]
    assert len(forms) == 1
    inputs = [e for e in walk(forms[0]) if e.get("tag") == "input"]
    assert [i["name"] for i in inputs] == ["reason"]
    submits = [e for e in walk(forms[0]) if e.get("form_action_type") == "submit"]
    assert [b["behaviors"][0]["value"]["a"].split(":")[0] for b in submits] == [
        "approve",
        "reject",
        "return",
    ]


def test_absent_actions_mean_absent_buttons() -> None:
    data = sample("claim_status")
    data["actions"] = {}
    assert callbacks(render_card("feishu", "claim_status", data)) == []
    data = sample("approval_request")
    data["actions"] = {}
    card = render_card("feishu", "approval_request", data)
    assert not [e for e in card["body"]["elements"] if e["tag"] == "form"]


def test_a_paid_finance_notice_has_no_button() -> None:
    data = sample("finance_notice")
    data["paid"] = {"by": "出纳 王五", "at": "2026-11-29 10:00"}
    card = render_card("feishu", "finance_notice", data)
    assert callbacks(card) == []
    assert card["header"]["template"] == "green"


def test_empty_list_and_more() -> None:
    data = sample("claim_list")
    data["claims"] = []
    card = render_card("feishu", "claim_list", data, "en-US")
    texts = [e["text"]["content"] for e in walk(card) if e.get("tag") == "div"]
    assert texts[:2] == ["No claims yet", "Older claims are not shown; send a claim id to see one"]


@pytest.mark.parametrize("name", ["claim_draft", "approval_request", "finance_notice"])
def test_a_claim_with_the_most_items_and_long_texts_still_fits(name: str) -> None:
    from handlers.drafts import MAX_ITEMS

    data = sample(name)
    item = dict(data["claim"]["items"][1], description="到客户现场讨论项目进度，往返打车" * 3,
                invoice="26312000000012345678", attachments=3)
    data["claim"]["items"] = [item] * MAX_ITEMS
    card = render_card("feishu", name, data)
    assert len(json.dumps(card, ensure_ascii=False).encode()) < MAX_CARD_BYTES


def test_prompt_shows_an_input_only_when_an_action_reads_it() -> None:
    data = sample("prompt")
    card = render_card("feishu", "prompt", data)
    assert not [e for e in walk(card) if e.get("tag") == "input"]
    data["input"]["action"] = "answer:amount"
    card = render_card("feishu", "prompt", data)
    inputs = [e for e in walk(card) if e.get("tag") == "input"]
    assert [i["name"] for i in inputs] == ["answer"]
    assert {"a": "answer:amount"} in callbacks(card)
