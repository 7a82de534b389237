"""Events as stored in the inbound queue: the record is what dataclasses.asdict gives, plus the
type, and it reads back into the same event."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bot.events import (
    Actor,
    CardActionEvent,
    ConversationRef,
    Event,
    FileRef,
    MessageEvent,
    SystemEvent,
    event_from_dict,
    event_to_dict,
)

ZHANG = Actor("feishu", "ou_zhang", "张三", "tenant-1")
EVENTS: list[Event] = [
    MessageEvent("feishu", "ev-1", ZHANG, ConversationRef("feishu", "oc_1"), "报销 打车 45.5 昨天"),
    MessageEvent(
        "wecom", "msg:2", Actor("wecom", "zhangsan"), ConversationRef("wecom", "zhangsan"), "",
        files=(FileRef("image", "media-1", "m-1", "发票.png"), FileRef("file", "media-2")),
        message_id="m-1", mentioned_bot=True,
    ),
    CardActionEvent("dingtalk", "ev-3", Actor("dingtalk", "staff-9"), "reject:BX-2026-000001:2",
                    form={"reason": "金额不符 \"x\""}, card_ref={"out_track_id": "t-1"}),
    CardActionEvent("feishu", "ev-4", ZHANG, "approve:BX-2026-000002:1",
                    conversation=ConversationRef("feishu", "oc_9", "group")),
    SystemEvent("feishu", "evt:5", "p2p_chat_entered"),
    SystemEvent("wecom", "evt:6", "enter_agent", Actor("wecom", "lisi")),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{type(e).__name__}-{e.event_id}")
def test_the_record_is_asdict_plus_the_type(event: Event) -> None:
    record = event_to_dict(event)
    assert record == {"type": type(event).__name__, **dataclasses.asdict(event)}
    assert type(record.get("files")) is type(dataclasses.asdict(event).get("files"))


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{type(e).__name__}-{e.event_id}")
def test_a_stored_record_reads_back_as_the_same_event(event: Event) -> None:
    stored = json.loads(json.dumps(event_to_dict(event), ensure_ascii=False))
    assert event_from_dict(stored) == event


def test_a_record_shares_no_mutable_parts_with_its_event() -> None:
    click = EVENTS[2]
    assert isinstance(click, CardActionEvent)
    record = event_to_dict(click)
    record["form"]["reason"] = "changed"
    assert click.form["reason"] == "金额不符 \"x\""
