"""Who reads in which language: each person's choice, and cards built for every reader.

A person chooses a language in chat ("English" / "中文"). The choice lives with their
conversation and, so that it outlasts a conversation that expired after a quiet day, in a record
of its own. Cards and notices for someone other than the person acting are built in that
person's language; an update of a claim's cards is built in every language, and each delivered
copy is re-rendered in the language it was sent in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.dispatcher import HandlerContext
from bot.replies import CardUpdate
from handlers.common import actor_of
from handlers.texts import TEXTS
from storage.models import ConversationWrite

LANGUAGES = tuple(TEXTS)  # the first is the default
CHOICE_TTL = 400 * 24 * 3600.0  # long enough to be a preference, short enough to forget leavers


def _choice_key(platform: str, user_id: str) -> str:
    return f"lang:{platform}:{user_id}"


async def saved_choice(ctx: HandlerContext, platform: str, user_id: str) -> str:
    """The language this person last chose, kept apart from their conversation; the default."""
    state = await ctx.storage.get_conversation(_choice_key(platform, user_id))
    chosen = (state or {}).get("lang")
    return chosen if chosen in LANGUAGES else LANGUAGES[0]


async def language_of(ctx: HandlerContext, platform: str, user_id: str) -> str:
    """The language this person reads: their conversation's, else their saved choice."""
    state = await ctx.storage.get_conversation(f"conv:{platform}:{user_id}")
    chosen = (state or {}).get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return await saved_choice(ctx, platform, user_id)


def remember_choice(ctx: HandlerContext, lang: str) -> None:
    actor = actor_of(ctx)
    ctx.commit.conversations.append(
        ConversationWrite(_choice_key(actor.platform, actor.user_id), {"lang": lang}, CHOICE_TTL)
    )


@contextmanager
def speaking(ctx: HandlerContext, lang: str) -> Iterator[None]:
    """Build replies in ``lang`` (someone else's) for a moment, then in the actor's again."""
    own, ctx.lang = ctx.lang, lang
    try:
        yield
    finally:
        ctx.lang = own


def update_cards(
    ctx: HandlerContext, claim_id: str, match: str, name: str,
    build: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Queue the update of every delivered ``match`` card of the claim into card ``name``, each
    copy in its reader's language; the data in the actor's language (for an inline answer)."""
    data = build()
    translations = {}
    for lang in LANGUAGES:
        if lang != ctx.lang:
            with speaking(ctx, lang):
                translations[lang] = build()
    ctx.send(CardUpdate(claim_id, match, name, data, ctx.lang, translations))
    return data
