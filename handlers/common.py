"""Helpers every journey shares: who to answer, card actions, audit entries, claim changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.dispatcher import HandlerContext
from bot.events import Actor, CardActionEvent, MessageEvent
from bot.replies import InlineReply, Recipient, Toast
from handlers.budgets import zone_of
from storage.models import (
    AuditEntry,
    Claim,
    ClaimWrite,
    NewMessage,
    Person,
    claim_to_dict,
    parse_claim_id,
)

SYNCED_EVENTS = frozenset({"submitted", "approved", "rejected", "returned", "withdrawn", "paid"})


@dataclass(frozen=True, slots=True)
class Action:
    """A card button's payload: ``verb:claim_id:version`` (or ``verb:arg:arg`` for choices)."""

    verb: str
    claim_id: str
    version: int


def parse_action(payload: str) -> Action | None:
    parts = payload.split(":")
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    try:
        parse_claim_id(parts[1])
    except ValueError:
        return None
    return Action(parts[0], parts[1], int(parts[2]))


def actor_of(ctx: HandlerContext) -> Actor:
    event = ctx.event
    assert isinstance(event, MessageEvent | CardActionEvent)
    return event.actor


def today(ctx: HandlerContext) -> date:
    """Today on the wall clock of ``[approval] timezone``: "今天" and "昨天" are the user's days,
    not UTC's (from 00:00 to 08:00 in Beijing, UTC is still on the day before)."""
    return ctx.now.astimezone(zone_of(ctx.config)).date()


def reply_to(ctx: HandlerContext) -> Recipient:
    """Answer in the group the message came from, else to the person directly."""
    event = ctx.event
    if isinstance(event, MessageEvent) and event.conversation.kind == "group":
        return Recipient(event.platform, chat_id=event.conversation.chat_id)
    return Recipient(event.platform, user_id=actor_of(ctx).user_id)


def person_recipient(platform: str, spec: str) -> Recipient:
    """A ``[finance]`` entry: ``chat:<id>`` names a group chat, anything else a user."""
    if spec.startswith("chat:"):
        return Recipient(platform, chat_id=spec.removeprefix("chat:"))
    return Recipient(platform, user_id=spec)


def toast(text: str, kind: str = "info") -> InlineReply:
    return InlineReply(toast=Toast(text, kind))  # type: ignore[arg-type]


def audit(ctx: HandlerContext, claim_id: str, action: str, detail: str = "",
          before: Claim | None = None, after: Claim | None = None) -> None:
    ctx.commit.audit.append(
        AuditEntry(
            claim_id=claim_id,
            at=ctx.now,
            actor=actor_of(ctx).key,
            action=action,
            detail=detail,
            from_version=before.version if before else 0,
            to_version=after.version if after else 0,
        )
    )


def save(ctx: HandlerContext, before: Claim | None, after: Claim, action: str,
         detail: str = "") -> None:
    """Record a claim change with its audit entry (and backend sync row) in this commit."""
    ctx.commit.claims.append(ClaimWrite(after, before.version if before else None))
    audit(ctx, after.id, action, detail, before, after)
    if action in SYNCED_EVENTS and ctx.config.backend.kind != "none":
        ctx.commit.messages.append(NewMessage(
            topic="backend",
            key=after.id,
            # The claim as it is now, so a later change cannot alter what this event reports;
            # the sync worker adds the audit entries up to this version (append-only, so the
            # same at any later time) when it builds the backend's payload.
            payload={"event": action, "claim": claim_to_dict(after), "version": after.version},
        ))


async def person_of(ctx: HandlerContext, actor: Actor) -> Person:
    """The applicant as the organisation directory knows them (name and department)."""
    org = ctx.org()
    user = await org.user(actor.user_id) if org else None
    if user is None:
        return Person(actor.platform, actor.user_id, actor.name or actor.user_id)
    department_id = user.department_ids[0] if user.department_ids else ""
    unit = await org.unit(department_id) if org and department_id else None
    return Person(
        actor.platform,
        actor.user_id,
        user.name or actor.name or actor.user_id,
        department_id,
        unit.name if unit else "",
        user.email,
        user.employee_no,
    )


async def display_names(ctx: HandlerContext, claim: Claim) -> dict[str, str]:
    """Names for everyone shown on a claim's card (approvers and deciders)."""
    ids = {a for step in claim.steps for a in step.approvers}
    ids |= {step.decided_by for step in claim.steps if step.decided_by}
    names = {claim.applicant.user_id: claim.applicant.name}
    org = ctx.org()
    for user_id in sorted(ids - names.keys()):
        names[user_id] = (await org.name_of(user_id) if org else "") or user_id
    return names
