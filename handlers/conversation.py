"""Per-user conversation state: the open draft, the item being filled, what was asked.

Stored with a TTL in storage (so it survives restarts and is shared across instances) and
written in the same commit as the claim change it accompanies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.dispatcher import HandlerContext
from handlers.common import actor_of
from handlers.languages import saved_choice
from storage.models import ConversationWrite

TTL = 24 * 3600.0
QUEUED_FILES = "_attachments"
QUEUED_CHECKS = "_checks"
ITEM_FIELDS = ("category", "amount", "spent_on", "description", "invoice")


@dataclass(slots=True)
class Conversation:
    draft: str = ""  # id of the open draft claim
    item: dict[str, str] = field(default_factory=dict)  # the item being filled, as text values
    extra: dict[str, str] = field(default_factory=dict)  # category-declared fields so far
    attachments: list[str] = field(default_factory=list)  # for the item being filled
    queue: list[dict[str, str]] = field(default_factory=list)  # further items from one message
    checks: list[list[str]] = field(default_factory=list)  # invoice checks: rule, zh, en
    asking: str = ""  # the field asked for; "reason:<verb>:<claim>:<version>" for approvers
    lang: str = "zh-CN"
    editing: int = 0  # the draft's item number the item being filled replaces; 0 = a new item

    def to_dict(self) -> dict[str, Any]:
        return {
            "draft": self.draft, "item": self.item, "extra": self.extra,
            "attachments": self.attachments, "queue": self.queue, "asking": self.asking,
            "checks": self.checks,
            "lang": self.lang, "editing": self.editing,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Conversation:
        if not data:
            return cls()
        return cls(
            draft=str(data.get("draft", "")),
            item={str(k): str(v) for k, v in dict(data.get("item", {})).items()},
            extra={str(k): str(v) for k, v in dict(data.get("extra", {})).items()},
            attachments=[str(a) for a in data.get("attachments", [])],
            queue=[{str(k): str(v) for k, v in dict(i).items()} for i in data.get("queue", [])],
            asking=str(data.get("asking", "")),
            checks=[[str(part) for part in check] for check in data.get("checks", [])],
            lang=str(data.get("lang", "zh-CN")),
            editing=int(data.get("editing", 0) or 0),
        )

    def queue_item(
        self, values: dict[str, str], attachments: list[str], checks: list[list[str]]
    ) -> None:
        """Line up a further item, with its receipts and invoice checks, to fill after this one."""
        self.queue.append({**values, QUEUED_FILES: ",".join(attachments),
                           QUEUED_CHECKS: json.dumps(checks, ensure_ascii=False)})

    def next_item(self) -> bool:
        """Make the first queued item the one being filled; False when none is queued."""
        if not self.queue:
            return False
        values = self.queue.pop(0)
        files, checks = values.pop(QUEUED_FILES, ""), values.pop(QUEUED_CHECKS, "[]")
        self.reset_item()
        self.item = values
        self.attachments = [f for f in files.split(",") if f]
        self.checks = [[str(part) for part in check] for check in json.loads(checks)]
        return True

    def reset_item(self) -> None:
        self.item, self.extra, self.attachments, self.asking = {}, {}, [], ""
        self.checks, self.editing = [], 0


def key_for(ctx: HandlerContext) -> str:
    return f"conv:{actor_of(ctx).key}"


async def load(ctx: HandlerContext) -> Conversation:
    state = await ctx.storage.get_conversation(key_for(ctx))
    conversation = Conversation.from_dict(state)
    if state is None:  # none yet, or it expired: the language chosen before still holds
        actor = actor_of(ctx)
        conversation.lang = await saved_choice(ctx, actor.platform, actor.user_id)
    ctx.lang = conversation.lang
    return conversation


def store(ctx: HandlerContext, conversation: Conversation) -> None:
    ctx.commit.conversations.append(ConversationWrite(key_for(ctx), conversation.to_dict(), TTL))


def forget(ctx: HandlerContext, conversation: Conversation) -> None:
    """End the conversation but keep the user's language."""
    kept = Conversation(lang=conversation.lang)
    store(ctx, kept)
