"""Help, and the polite answer to anything no other handler took."""

from __future__ import annotations

from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent, MessageEvent
from bot.replies import Card, Recipient, Text
from handlers.texts import say

router = Router()

HELP_WORDS = {"帮助", "/help", "help", "?", "？"}


def reply_to(event: MessageEvent | CardActionEvent) -> Recipient:
    if isinstance(event, MessageEvent) and event.conversation.kind == "group":
        return Recipient(event.platform, chat_id=event.conversation.chat_id)
    return Recipient(event.platform, user_id=event.actor.user_id)


def help_data(lang: str) -> dict[str, object]:
    keys = ("help_claim", "help_mine", "help_todo", "help_withdraw")
    return {"title": say("help_title", lang), "lines": [say(k, lang) for k in keys]}


@router.message(lambda event: event.text.strip().lower() in HELP_WORDS)
async def show_help(ctx: HandlerContext) -> None:
    assert isinstance(ctx.event, MessageEvent)
    ctx.send(Card(reply_to(ctx.event), "help", help_data(ctx.lang), lang=ctx.lang))


def fallback_router() -> Router:
    """Registered last: answers what nothing else understood."""
    fallback = Router()

    @fallback.message(lambda event: True)
    async def not_understood(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, MessageEvent)
        if ctx.event.text.strip() or ctx.event.files:
            ctx.send(Text(reply_to(ctx.event), say("not_understood", ctx.lang)))

    return fallback

