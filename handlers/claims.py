"""Claims after filing: my claims, waiting for me, one claim's card, withdrawing, reasons."""

from __future__ import annotations

from bot.dispatcher import HandlerContext, Router
from bot.replies import Card, InlineReply, Text, Toast
from handlers import workflow as wf
from handlers.approvals import apply_decision, load_for_action
from handlers.budgets import budget_of
from handlers.cards import approval_request_data, decided_data, list_data, status_data
from handlers.common import (
    Action,
    actor_of,
    audit,
    display_names,
    parse_action,
    reply_to,
    save,
    toast,
)
from handlers.conversation import Conversation, store
from handlers.languages import update_cards
from handlers.texts import say
from storage.models import Claim

router = Router()

LIST_LIMIT = 10


def _may_see(ctx: HandlerContext, claim: Claim) -> bool:
    """Applicant, anyone on the route, and finance of the claim's platform."""
    actor = actor_of(ctx)
    if actor.platform != claim.platform:
        return False
    on_route = any(actor.user_id in step.approvers for step in claim.steps)
    finance = actor.user_id in ctx.config.finance.for_platform(claim.platform)
    return actor.user_id == claim.applicant.user_id or on_route or finance


async def show_mine(ctx: HandlerContext) -> None:
    actor = actor_of(ctx)
    found = await ctx.storage.claims_by_applicant(actor.platform, actor.user_id, LIST_LIMIT + 1)
    await _send_list(ctx, say("mine_title", ctx.lang), found)


async def show_todo(ctx: HandlerContext) -> None:
    actor = actor_of(ctx)
    found = await ctx.storage.claims_pending_for(actor.platform, actor.user_id, LIST_LIMIT + 1)
    await _send_list(ctx, say("todo_title", ctx.lang), found)


async def _send_list(ctx: HandlerContext, title: str, found: list[Claim]) -> None:
    """Up to LIST_LIMIT claims; one more was fetched only to know that older ones exist."""
    shown = found[:LIST_LIMIT]
    names: dict[str, str] = {}
    for claim in shown:
        names.update(await display_names(ctx, claim))
    data = list_data(title, shown, names, ctx, more=max(0, len(found) - LIST_LIMIT))
    ctx.send(Card(reply_to(ctx), "claim_list", data, lang=ctx.lang))


async def card_for(ctx: HandlerContext, claim: Claim) -> Card:
    """The card this person should see for the claim: to decide on it, or its status."""
    names = await display_names(ctx, claim)
    if wf.can_decide(claim, actor_of(ctx).user_id):
        data = approval_request_data(claim, names, ctx, await budget_of(ctx, claim))
        return Card(reply_to(ctx), "approval_request", data,
                    claim_id=claim.id, lang=ctx.lang)
    return Card(reply_to(ctx), "claim_status", status_data(claim, names, ctx),
                claim_id=claim.id, lang=ctx.lang)


async def show_claim(ctx: HandlerContext, claim_id: str) -> None:
    claim = await ctx.storage.get_claim(claim_id) if claim_id else None
    if claim is None or not _may_see(ctx, claim):
        ctx.send(Text(reply_to(ctx), say("claim_not_found", ctx.lang, id=claim_id)))
        return
    ctx.send(await card_for(ctx, claim))


@router.card_action("open")
async def open_claim(ctx: HandlerContext) -> None:
    loaded = await load_for_action(ctx)
    if loaded is None:
        return
    _, claim = loaded
    if not _may_see(ctx, claim):
        ctx.inline = toast(say("claim_not_found", ctx.lang, id=claim.id), "warning")
        return
    ctx.send(await card_for(ctx, claim))
    ctx.inline = toast(say("card_sent", ctx.lang))


async def withdraw(ctx: HandlerContext, claim: Claim, version: int | None) -> str:
    """Withdraw for the applicant; returns the message to show (success or why not)."""
    try:
        if version is not None:
            wf.expect_version(claim, version)
        after = wf.withdraw(claim, actor_of(ctx).user_id, ctx.now)
    except wf.WorkflowError as error:  # every refusal is audited, a stale click's too
        audit(ctx, claim.id, "refused", f"{error.code}: {error}")
        if isinstance(error, wf.NotAllowed) or actor_of(ctx).user_id != claim.applicant.user_id:
            return say("not_your_claim", ctx.lang)  # someone else's card, at any version
        return say("cannot_withdraw", ctx.lang, id=claim.id)
    save(ctx, claim, after, "withdrawn")
    ctx.commit.invoice_releases.extend((key, after.id) for key in after.invoice_keys)
    names = await display_names(ctx, after)
    update_cards(ctx, after.id, "approval_request", "approval_decided",
                 lambda: decided_data(after, names, ctx))
    update_cards(ctx, after.id, "claim_status", "claim_status",
                 lambda: status_data(after, names, ctx))
    return say("withdrawn", ctx.lang, id=after.id)


async def withdraw_by_text(ctx: HandlerContext, claim_id: str) -> None:
    claim = await ctx.storage.get_claim(claim_id) if claim_id else None
    if claim is None or claim.applicant.user_id != actor_of(ctx).user_id:
        if claim is not None:  # someone else's: refused as not found, and audited
            audit(ctx, claim.id, "refused", "withdraw by someone other than the applicant")
        ctx.send(Text(reply_to(ctx), say("claim_not_found", ctx.lang, id=claim_id)))
        return
    ctx.send(Text(reply_to(ctx), await withdraw(ctx, claim, None)))


@router.card_action("withdraw")
async def withdraw_clicked(ctx: HandlerContext) -> None:
    loaded = await load_for_action(ctx)
    if loaded is None:
        return
    action, claim = loaded
    message = await withdraw(ctx, claim, action.version)
    if ctx.commit.claims:
        after = ctx.commit.claims[-1].claim
        names = await display_names(ctx, after)
        ctx.inline = InlineReply(Toast(message, "success"), "claim_status",
                                 status_data(after, names, ctx))
    else:
        ctx.inline = toast(message, "warning")


async def reason_given(ctx: HandlerContext, conversation: Conversation, text: str) -> None:
    """The approver's typed reason for a reject or return started on a card."""
    _, verb, claim_id, version = [*conversation.asking.split(":"), "", "", ""][:4]
    conversation.asking = ""
    store(ctx, conversation)
    action = parse_action(f"{verb}:{claim_id}:{version}")
    claim = await ctx.storage.get_claim(claim_id) if action else None
    if action is None or claim is None or not text.strip():
        ctx.send(Text(reply_to(ctx), say("unknown_action", ctx.lang)))
        return
    await apply_decision(ctx, claim, Action(action.verb, claim.id, action.version), text)
    if ctx.inline is not None and ctx.inline.toast is not None:
        ctx.send(Text(reply_to(ctx), ctx.inline.toast.text))
    ctx.inline = None

