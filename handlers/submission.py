"""Submitting (and resubmitting) a claim: policy blocks, invoice locks, routing, first cards."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.dispatcher import HandlerContext, Router
from bot.replies import InlineReply, Text, Toast
from handlers import workflow as wf
from handlers.approvals import load_for_action, send_approval_cards, send_finance_notices
from handlers.budgets import BudgetStatus, budget_statuses, over_budget_flags
from handlers.cards import status_data
from handlers.common import Action, actor_of, audit, display_names, reply_to, save, toast, today
from handlers.conversation import forget, load, store
from handlers.draft_checks import invoice_conflicts
from handlers.drafts import open_draft, show_draft
from handlers.languages import update_cards
from handlers.policy import blocking, claim_flags
from handlers.routing import RoutingPolicy, plan_route_detailed
from handlers.texts import say
from storage.models import Claim, ClaimStatus

router = Router()


async def _applicants_claim(ctx: HandlerContext, verb: str) -> tuple[Action, Claim] | None:
    """The clicked claim, if the clicker is its applicant; else refused (audited) and None."""
    loaded = await load_for_action(ctx)
    if loaded is None:
        return None
    claim = loaded[1]
    if actor_of(ctx).user_id != claim.applicant.user_id:
        audit(ctx, claim.id, "refused", f"{verb} by someone other than the applicant")
        ctx.inline = toast(say("not_your_claim", ctx.lang), "error")
        return None
    return loaded


@router.card_action("submit")
async def submit(ctx: HandlerContext) -> None:
    loaded = await _applicants_claim(ctx, "submit")
    if loaded is None:
        return
    action, claim = loaded
    try:
        wf.expect_version(claim, action.version)
        submitted = wf.submit(claim, ctx.now)
    except wf.WorkflowError as error:
        audit(ctx, claim.id, "refused", f"{error.code}: {error}")
        names = await display_names(ctx, claim)
        ctx.inline = InlineReply(Toast(say("card_outdated", ctx.lang), "warning"),
                                 "claim_status", status_data(claim, names, ctx))
        return
    flags = claim_flags(claim, ctx.config, today(ctx))
    budget = await budget_statuses(ctx.storage, ctx.config, claim, ctx.now)
    flags += over_budget_flags(budget, claim, ctx.config)
    problems = [f.text(ctx.lang) for f in blocking(flags)] + await invoice_conflicts(ctx, claim)
    if problems:
        audit(ctx, claim.id, "submit_blocked", "；".join(problems))
        refusal = say("cannot_submit", ctx.lang, problems="；".join(problems))
        ctx.inline = toast(refusal, "error")
        # Also as a message: a toast is brief, and WeCom's is a 20-character button label.
        ctx.send(Text(reply_to(ctx), refusal))
        return
    await route_and_announce(ctx, claim, submitted, [f.zh for f in flags],
                             rules=[f.rule for f in flags], budget=budget)


async def route_and_announce(
    ctx: HandlerContext, before: Claim, submitted: Claim, flags: list[str], *,
    rules: Sequence[str] = (), budget: Sequence[BudgetStatus] = (),
) -> None:
    """``flags`` are stored in their words; routing matches a step's ``flags`` to ``rules``."""
    org = ctx.org()
    policy = RoutingPolicy.from_config(ctx.config, submitted.platform)
    plan = None
    if org is not None:
        flagged = replace(submitted, flags=tuple(rules))
        plan = await plan_route_detailed(flagged, ctx.config.approval.steps, org, policy)
    if plan is None or (not plan.steps and plan.skipped):
        audit(ctx, before.id, "submit_blocked", "no approver could be resolved")
        ctx.inline = toast(say("no_route", ctx.lang), "error")
        return
    routed = wf.start_approval(submitted, [p.step for p in plan.steps], ctx.now)
    routed = replace(routed, flags=tuple(flags))
    save(ctx, before, routed, "submitted", f"{len(routed.steps)} steps")
    ctx.commit.invoice_locks.extend((key, routed.id) for key in routed.invoice_keys)
    names = await display_names(ctx, routed)
    status = status_data(routed, names, ctx)
    # Status copies (a resubmitted claim's) first: the draft copies then become status copies,
    # and updating those again would make WeCom, whose response code is spent, send them anew.
    for template in ("claim_status", "claim_draft"):
        update_cards(ctx, routed.id, template, "claim_status",
                     lambda: status_data(routed, names, ctx))
    if routed.status is ClaimStatus.APPROVING:
        await send_approval_cards(ctx, routed, names, budget)
    else:
        await send_finance_notices(ctx, routed, names)
    ctx.inline = InlineReply(Toast(say("submitted", ctx.lang, id=routed.id), "success"),
                             "claim_status", status)
    conversation = await load(ctx)
    if conversation.draft == routed.id:
        forget(ctx, conversation)


@router.card_action("resubmit")
async def reopen_returned(ctx: HandlerContext) -> None:
    """A returned claim opens as the applicant's draft again: edit it, then submit."""
    loaded = await _applicants_claim(ctx, "resubmit")
    if loaded is None:
        return
    _, claim = loaded
    if claim.status is not ClaimStatus.RETURNED:
        ctx.inline = toast(say("card_outdated", ctx.lang), "warning")
        return
    conversation = await load(ctx)
    in_progress = await open_draft(ctx, conversation)
    conversation.reset_item()
    conversation.draft = claim.id
    store(ctx, conversation)
    # A fresh draft card, not an inline swap of the status card: WeCom's click answer can only
    # relabel a button, and on every platform the status card stays true as it is.
    await show_draft(ctx, claim)
    if in_progress is not None and in_progress.id != claim.id:
        # Chat now adds to the reopened claim; the other draft stays whole on its own card.
        ctx.send(Text(reply_to(ctx), say("draft_set_aside", ctx.lang, draft=in_progress.id,
                                         id=claim.id)))
    ctx.inline = toast(say("edit_then_submit", ctx.lang))
