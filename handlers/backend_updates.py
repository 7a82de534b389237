"""Status changes pushed by the reimbursement backend: paid, rejected, or a comment.

They arrive as card actions from a pseudo-actor (``backend:<kind>``) built by
``bot.backends.inbound`` after it has verified the request, and go through the same workflow
rules and the same commit as a click in chat: ``backend_paid:<claim id>:0`` marks an approved
claim paid, ``backend_rejected`` rejects a claim the backend refuses (before or after
approval; its invoices are released), ``backend_comment`` records a remark. The applicant is
told in chat and every copy of the claim's cards is updated. These changes are not synced back
to the backend (it made them). The outcome is handed back as the inline toast's kind/text:
``success``/``applied``, ``info``/``unchanged``, ``warning``/``refused: …``,
``error``/``not_found``.
"""

from __future__ import annotations

from dataclasses import replace

from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent
from bot.replies import InlineReply, Recipient, Text, Toast
from handlers import workflow as wf
from handlers.cards import finance_data, status_data
from handlers.common import audit, display_names, parse_action, save
from handlers.languages import language_of, update_cards
from handlers.texts import say
from storage.models import Claim, ClaimStatus

router = Router()

BACKEND_NAME = {"zh-CN": "报销系统", "en-US": "the reimbursement system"}
COMMENT_TEXT = {"zh-CN": "报销系统对你的报销单 {id} 的备注：{comment}",
                "en-US": "The reimbursement system commented on your claim {id}: {comment}"}
REJECTABLE = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.APPROVING, ClaimStatus.APPROVED})


def _result(ctx: HandlerContext, kind: str, text: str) -> None:
    ctx.inline = InlineReply(toast=Toast(text, kind))  # type: ignore[arg-type]


@router.card_action("backend_paid", "backend_rejected", "backend_comment")
async def backend_update(ctx: HandlerContext) -> None:
    assert isinstance(ctx.event, CardActionEvent)
    action = parse_action(ctx.event.action)
    claim = await ctx.storage.get_claim(action.claim_id) if action else None
    if action is None or claim is None:
        _result(ctx, "error", "not_found")
        return
    # Told to the applicant: in the language they chose in chat, not the default.
    ctx.lang = await language_of(ctx, claim.platform, claim.applicant.user_id)
    note = ctx.event.form.get("comment", "").strip()
    if action.verb == "backend_comment":
        await _comment(ctx, claim, note)
    elif action.verb == "backend_paid":
        await _paid(ctx, claim, note)
    else:
        await _rejected(ctx, claim, note)


async def _comment(ctx: HandlerContext, claim: Claim, note: str) -> None:
    if not note:
        _result(ctx, "warning", "refused: a comment needs text")
        return
    audit(ctx, claim.id, "backend_comment", note)
    ctx.send(Text(Recipient(claim.platform, user_id=claim.applicant.user_id),
                  COMMENT_TEXT.get(ctx.lang, COMMENT_TEXT["zh-CN"]).format(id=claim.id,
                                                                          comment=note)))
    _result(ctx, "success", "applied")


async def _paid(ctx: HandlerContext, claim: Claim, note: str) -> None:
    if claim.status is ClaimStatus.PAID:
        _result(ctx, "info", "unchanged")
        return
    actor = ctx.event.actor.user_id if isinstance(ctx.event, CardActionEvent) else ""
    try:
        after = wf.mark_paid(claim, actor, [actor], ctx.now)  # the backend is finance here
    except wf.WorkflowError as error:
        _refuse(ctx, claim, error)
        return
    save(ctx, claim, after, "backend_paid", note)
    names = await display_names(ctx, after)
    paid = update_cards(ctx, after.id, "finance_notice", "finance_notice", lambda: finance_data(
        after, names, ctx, paid_by=BACKEND_NAME.get(ctx.lang, BACKEND_NAME["zh-CN"])))
    _tell(ctx, claim, after, names, say("notify_paid", ctx.lang, id=after.id,
                                         total=paid["claim"]["total"]))


async def _rejected(ctx: HandlerContext, claim: Claim, note: str) -> None:
    if claim.status is ClaimStatus.REJECTED:
        _result(ctx, "info", "unchanged")
        return
    if not note:
        _result(ctx, "warning", "refused: a rejection needs a reason (comment)")
        return
    if claim.status not in REJECTABLE:
        _refuse(ctx, claim, wf.IllegalTransition(claim, "reject"))
        return
    after = replace(claim, status=ClaimStatus.REJECTED, version=claim.version + 1,
                    updated_at=ctx.now)
    save(ctx, claim, after, "backend_rejected", note)
    ctx.commit.invoice_releases.extend((key, after.id) for key in after.invoice_keys)
    names = await display_names(ctx, after)
    update_cards(ctx, after.id, "finance_notice", "finance_notice",
                 lambda: finance_data(after, names, ctx))
    _tell(ctx, claim, after, names, say("notify_rejected", ctx.lang, id=after.id,
                                         by=BACKEND_NAME.get(ctx.lang, "报销系统"), comment=note))


def _tell(ctx: HandlerContext, before: Claim, after: Claim, names: dict[str, str],
          text: str) -> None:
    update_cards(ctx, after.id, "claim_status", "claim_status",
                 lambda: status_data(after, names, ctx))
    ctx.send(Text(Recipient(after.platform, user_id=after.applicant.user_id), text))
    _result(ctx, "success", "applied")


def _refuse(ctx: HandlerContext, claim: Claim, error: wf.WorkflowError) -> None:
    audit(ctx, claim.id, "refused", f"{error.code}: {error}")
    _result(ctx, "warning", f"refused: {error}")
