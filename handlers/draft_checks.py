"""Checks that need storage, shown on the draft card before submitting and enforced at submit:
the organisation-wide invoice registry, and the department budget."""

from __future__ import annotations

from bot.dispatcher import HandlerContext
from handlers.budgets import budget_statuses, over_budget_flags
from handlers.policy import Flag
from handlers.texts import say
from storage.models import Claim


async def invoice_conflicts(ctx: HandlerContext, claim: Claim) -> list[str]:
    """A message per invoice that already backs another live claim, naming that claim, or that
    backs more than one item of this claim (one invoice sent as PDF and OFD is one invoice)."""
    problems = []
    keys = claim.invoice_keys
    for key in sorted(set(keys)):
        if keys.count(key) > 1:
            problems.append(say("invoice_repeated", ctx.lang, invoice=key, count=keys.count(key)))
    for key in dict.fromkeys(keys):
        holder_id = await ctx.storage.invoice_holder(key)
        if holder_id and holder_id != claim.id:
            holder = await ctx.storage.get_claim(holder_id)
            who = holder.applicant.name if holder else ""
            problems.append(say("invoice_in_use", ctx.lang, invoice=key, claim=holder_id,
                                applicant=who))
    return problems


async def draft_flags(ctx: HandlerContext, claim: Claim) -> list[dict[str, str]]:
    """What submitting would run into, as card flags: a reused invoice blocks; the budget as
    configured."""
    flags = [{"level": "block", "text": text} for text in await invoice_conflicts(ctx, claim)]
    budget = await budget_statuses(ctx.storage, ctx.config, claim, ctx.now)
    over: list[Flag] = over_budget_flags(budget, claim, ctx.config)
    return flags + [flag.view(ctx.lang) for flag in over]
