"""The approver's and finance's journey: decide on a card, notify, hand over to finance, pay."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent
from bot.replies import Card, InlineReply, Recipient, Text, Toast
from handlers import workflow as wf
from handlers.budgets import BudgetStatus, budget_of
from handlers.cards import approval_request_data, decided_data, finance_data, status_data
from handlers.common import (
    Action,
    actor_of,
    audit,
    display_names,
    parse_action,
    person_recipient,
    save,
    toast,
)
from handlers.conversation import load, store
from handlers.languages import language_of, speaking, update_cards
from handlers.texts import say
from handlers.views import status_label
from storage.models import Claim, ClaimStatus

router = Router()

DECIDE_VERBS = ("approve", "reject", "return")
OTHER_REASON = "other"  # the preset choice meaning "I will type the reason"


async def load_for_action(ctx: HandlerContext) -> tuple[Action, Claim] | None:
    """The clicked claim, or None after setting a polite inline answer."""
    assert isinstance(ctx.event, CardActionEvent)
    action = parse_action(ctx.event.action)
    claim = await ctx.storage.get_claim(action.claim_id) if action else None
    if action is None or claim is None:
        ctx.inline = toast(say("unknown_action", ctx.lang), "warning")
        return None
    return action, claim


async def refuse(ctx: HandlerContext, claim: Claim, error: wf.WorkflowError) -> None:
    """Answer a click that may not act now with the claim's current state, and audit it."""
    audit(ctx, claim.id, "refused", f"{error.code}: {error}")
    names = await display_names(ctx, claim)
    actor = actor_of(ctx).user_id
    on_route = any(actor in step.approvers for step in claim.steps)
    # Someone off the route learns nothing of the claim, whatever the click's version or state.
    if isinstance(error, wf.NotAllowed) or not on_route:
        ctx.inline = InlineReply(toast=Toast(say("not_your_step", ctx.lang), "error"))
        return
    text = say("already_handled", ctx.lang, status=status_label(claim.status, ctx.lang))
    if claim.status is ClaimStatus.APPROVING and wf.can_decide(claim, actor):
        ctx.inline = InlineReply(Toast(text, "warning"), "approval_request",
                                 approval_request_data(claim, names, ctx,
                                                       await budget_of(ctx, claim)))
    else:
        ctx.inline = InlineReply(Toast(text, "warning"), "approval_decided",
                                 decided_data(claim, names, ctx))


@router.card_action(*DECIDE_VERBS)
async def decide(ctx: HandlerContext) -> None:
    assert isinstance(ctx.event, CardActionEvent)
    loaded = await load_for_action(ctx)
    if loaded is None:
        return
    action, claim = loaded
    reason = ctx.event.form.get("reason", "").strip()
    if reason == OTHER_REASON and action.verb != "approve":
        await ask_reason(ctx, claim, action)
        return
    await apply_decision(ctx, claim, action, reason)


async def ask_reason(ctx: HandlerContext, claim: Claim, action: Action) -> None:
    """Cards without text inputs (WeCom, DingTalk): the reason comes as the next message."""
    if not wf.can_decide(claim, actor_of(ctx).user_id):
        await refuse(ctx, claim, wf.NotAllowed(claim, actor_of(ctx).user_id, action.verb))
        return
    conversation = await load(ctx)
    conversation.asking = f"reason:{action.verb}:{action.claim_id}:{action.version}"
    store(ctx, conversation)
    ctx.inline = toast(say("reply_with_reason", ctx.lang, id=claim.id))
    ctx.send(Text(Recipient(claim.platform, user_id=actor_of(ctx).user_id),
                  say("reply_with_reason", ctx.lang, id=claim.id)))


async def apply_decision(ctx: HandlerContext, claim: Claim, action: Action, reason: str) -> None:
    actor = actor_of(ctx).user_id
    try:
        wf.expect_version(claim, action.version)
        if action.verb == "approve":
            after = wf.approve(claim, actor, ctx.now, reason)
        elif action.verb == "reject":
            after = wf.reject(claim, actor, reason, ctx.now)
        else:
            after = wf.return_for_changes(claim, actor, reason, ctx.now)
    except wf.MissingReason:
        ctx.inline = toast(say("reason_required", ctx.lang), "warning")
        return
    except wf.WorkflowError as error:
        await refuse(ctx, claim, error)
        return
    event_name = {"approve": "approved", "reject": "rejected", "return": "returned"}[action.verb]
    step_only = action.verb == "approve" and after.status is ClaimStatus.APPROVING
    save(ctx, claim, after, "step_approved" if step_only else event_name, reason)
    if after.status is ClaimStatus.REJECTED:
        ctx.commit.invoice_releases.extend((key, after.id) for key in after.invoice_keys)
    await announce(ctx, claim, after)


async def announce(ctx: HandlerContext, before: Claim, after: Claim) -> None:
    """Update every copy of the claim's cards, tell the applicant, and hand over the claim."""
    names = await display_names(ctx, after)
    decided = update_cards(ctx, after.id, "approval_request", "approval_decided",
                           lambda: decided_data(after, names, ctx, step_index=before.current_step))
    update_cards(ctx, after.id, "claim_status", "claim_status",
                 lambda: status_data(after, names, ctx))
    ctx.inline = InlineReply(Toast(decided["decision"]["label"], "success"), "approval_decided",
                             decided)
    applicant = Recipient(after.platform, user_id=after.applicant.user_id)
    told_in = await language_of(ctx, after.platform, after.applicant.user_id)  # theirs, not ours
    ctx.send(Text(applicant, say(f"notify_{after.status.value}", told_in, id=after.id,
                                 by=names.get(actor_of(ctx).user_id, ""),
                                 comment=after.steps[before.current_step].comment)))
    if after.status is ClaimStatus.APPROVING:
        await send_approval_cards(ctx, after, names, await budget_of(ctx, after))
    elif after.status is ClaimStatus.APPROVED:
        await send_finance_notices(ctx, after, names)


async def send_approval_cards(
    ctx: HandlerContext, claim: Claim, names: dict[str, str], budget: Sequence[BudgetStatus] = ()
) -> None:
    """An approval card for each approver of the current step, in that approver's language."""
    recipients = [Recipient(claim.platform, user_id=a) for a in claim.pending_approvers]
    await _send_each_in_own_language(
        ctx, claim, recipients, "approval_request",
        lambda: approval_request_data(claim, names, ctx, budget))


async def send_finance_notices(ctx: HandlerContext, claim: Claim, names: dict[str, str]) -> None:
    recipients = [person_recipient(claim.platform, spec)
                  for spec in ctx.config.finance.for_platform(claim.platform)]
    await _send_each_in_own_language(
        ctx, claim, recipients, "finance_notice", lambda: finance_data(claim, names, ctx))


async def _send_each_in_own_language(
    ctx: HandlerContext, claim: Claim, recipients: Sequence[Recipient], name: str,
    build: Callable[[], dict[str, Any]],
) -> None:
    built: dict[str, dict[str, Any]] = {}  # the card's data per language, built once each
    for to in recipients:
        lang = await language_of(ctx, to.platform, to.user_id) if to.user_id else ctx.lang
        if lang not in built:
            with speaking(ctx, lang):
                built[lang] = build()
        ctx.send(Card(to, name, built[lang], claim_id=claim.id, lang=lang))


@router.card_action("mark_paid")
async def mark_paid(ctx: HandlerContext) -> None:
    loaded = await load_for_action(ctx)
    if loaded is None:
        return
    action, claim = loaded
    actor = actor_of(ctx).user_id
    finance = [s for s in ctx.config.finance.for_platform(claim.platform)
               if not s.startswith("chat:")]
    try:
        wf.expect_version(claim, action.version)
        after = wf.mark_paid(claim, actor, finance, ctx.now)
    except wf.WorkflowError as error:
        audit(ctx, claim.id, "refused", f"{error.code}: {error}")
        key = "not_finance" if isinstance(error, wf.NotAllowed) else "already_paid"
        ctx.inline = toast(say(key, ctx.lang), "warning")
        return
    save(ctx, claim, after, "paid")
    names = await display_names(ctx, after)
    if actor not in names:
        org = ctx.org()
        names[actor] = (await org.name_of(actor) if org else "") or actor_of(ctx).name or actor
    paid = update_cards(ctx, after.id, "finance_notice", "finance_notice",
                        lambda: finance_data(after, names, ctx, paid_by=names[actor]))
    update_cards(ctx, after.id, "claim_status", "claim_status",
                 lambda: status_data(after, names, ctx))
    told_in = await language_of(ctx, after.platform, after.applicant.user_id)
    ctx.send(Text(Recipient(after.platform, user_id=after.applicant.user_id),
                  say("notify_paid", told_in, id=after.id, total=paid["claim"]["total"])))
    ctx.inline = InlineReply(Toast(say("marked_paid", ctx.lang), "success"), "finance_notice",
                             paid)
