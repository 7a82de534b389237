"""Card data for each catalogue card, built from a claim (shapes in ``cards/samples.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.dispatcher import HandlerContext
from handlers.budgets import BudgetStatus, budget_line, over_budget_flags, zone_of
from handlers.common import today
from handlers.policy import claim_flags
from handlers.views import action, claim_view, decision_label, list_entry, shown_time
from storage.models import Claim, ClaimStatus

REJECT_REASONS = {
    "zh-CN": ["票据不全", "超出标准", "与业务无关", "other"],
    "en-US": ["Missing receipts", "Over the limit", "Not business related", "other"],
}


def _view(claim: Claim, names: dict[str, str], ctx: HandlerContext) -> dict[str, Any]:
    flags = [f.view(ctx.lang) for f in claim_flags(claim, ctx.config, today(ctx))]
    categories = {c.code: c.name for c in ctx.config.categories}
    return claim_view(claim, names, ctx.lang, flags, categories, zone_of(ctx.config))


def draft_data(claim: Claim, names: dict[str, str], ctx: HandlerContext) -> dict[str, Any]:
    return {
        "claim": _view(claim, names, ctx),
        "actions": {
            "submit": action("submit", claim),
            "add_item": action("add_item", claim),
            "cancel": action("cancel", claim),
        },
    }


def status_data(claim: Claim, names: dict[str, str], ctx: HandlerContext) -> dict[str, Any]:
    actions: dict[str, str] = {}
    if claim.status in {ClaimStatus.SUBMITTED, ClaimStatus.APPROVING, ClaimStatus.RETURNED}:
        actions["withdraw"] = action("withdraw", claim)
    if claim.status is ClaimStatus.RETURNED:
        actions["resubmit"] = action("resubmit", claim)
    return {"claim": _view(claim, names, ctx), "actions": actions}


def approval_request_data(
    claim: Claim, names: dict[str, str], ctx: HandlerContext,
    budget: Sequence[BudgetStatus] = (),
) -> dict[str, Any]:
    """``budget``: handlers.budgets.budget_statuses of the claim, for its budget line and flag."""
    step = claim.steps[claim.current_step]
    following = claim.steps[claim.current_step + 1] if claim.current_step + 1 < len(
        claim.steps) else None
    nxt = ""
    if following is not None:
        nxt = following.name + "：" + "、".join(names.get(a, a) for a in following.approvers)
    view = _view(claim, names, ctx)
    view["flags"] += [f.view(ctx.lang) for f in over_budget_flags(budget, claim, ctx.config)]
    return {
        "claim": view,
        "step": {
            "name": step.name,
            "index": claim.current_step + 1,
            "count": len(claim.steps),
            "reason": step.reason,
            "next": nxt,
        },
        "budget": budget_line(budget, ctx.lang),
        "actions": {verb: action(verb, claim) for verb in ("approve", "reject", "return")},
        "reject_reasons": REJECT_REASONS.get(ctx.lang, REJECT_REASONS["zh-CN"]),
    }


def decided_data(
    claim: Claim, names: dict[str, str], ctx: HandlerContext, step_index: int | None = None
) -> dict[str, Any]:
    """The outcome of step ``step_index`` (default: the last decided step)."""
    decided = [i for i, s in enumerate(claim.steps) if s.decision is not None]
    index = step_index if step_index is not None else (decided[-1] if decided else 0)
    step = claim.steps[index] if claim.steps else None
    decision = step.decision if step else None
    by = names.get(step.decided_by, step.decided_by) if step else ""
    zone = zone_of(ctx.config)
    at = shown_time(step.decided_at if step else None, zone) or shown_time(claim.updated_at, zone)
    comment = step.comment if step else ""
    if claim.status is ClaimStatus.WITHDRAWN:
        # The applicant's act, not an earlier step's: its time, and no approver's comment.
        label = "已撤回" if ctx.lang != "en-US" else "Withdrawn"
        kind, by = "withdrawn", claim.applicant.name
        at, comment = shown_time(claim.updated_at, zone), ""
    else:
        label, kind = decision_label(decision, ctx.lang), decision.value if decision else ""
    return {
        "claim": _view(claim, names, ctx),
        "decision": {
            "kind": kind,
            "label": label,
            "by": by,
            "at": at,
            "comment": comment,
        },
    }


def finance_data(
    claim: Claim, names: dict[str, str], ctx: HandlerContext, paid_by: str = ""
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "claim": _view(claim, names, ctx),
        "payee": {"name": claim.applicant.name, "account": ""},
        "paid": {"by": paid_by,
                 "at": shown_time(claim.updated_at, zone_of(ctx.config)) if paid_by else ""},
        "actions": {},
    }
    if claim.status is ClaimStatus.APPROVED:
        data["actions"]["mark_paid"] = action("mark_paid", claim)
    return data


def list_data(title: str, claims: list[Claim], names: dict[str, str],
              ctx: HandlerContext, more: int = 0) -> dict[str, Any]:
    return {
        "title": title,
        "claims": [list_entry(c, names, ctx.lang, zone_of(ctx.config)) for c in claims],
        "more": more,
    }
