"""Reminding approvers who have not acted: when a reminder is due, what it says, who hears it.

A step that has waited ``remind_after_hours`` gets reminder 1, then one more every
``remind_every_hours`` after the one before. A reminder whose time falls inside the quiet hours
(read on the configured time zone's wall clock) goes out when they end, and the interval to the
next counts from then. After ``escalate_after_reminders`` reminders each further one
also tells the approvers' managers, in a message: nobody decides in anyone's place.

The rules are pure functions of the claim, the policy and the time. :func:`remind` is the handler
that sends reminder ``n`` of a claim's current step: a text and the approval card again (its
buttons carry the claim's version, which a reminder leaves alone, so every open card stays live),
and an audit entry that changes no version. ``bot.workers.reminders`` decides which reminders
are due and makes sure each goes out once, whatever the number of instances.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from bot.config_checks import parse_clock_range, parse_timezone
from bot.config_model import ApprovalConfig
from bot.dispatcher import HandlerContext, Router
from bot.events import Actor, CardActionEvent
from bot.replies import Card, Text
from handlers.budgets import budget_of
from handlers.cards import approval_request_data
from handlers.common import display_names, parse_action, person_recipient, toast
from handlers.languages import language_of
from storage.models import AuditEntry, Claim, ClaimStatus
from storage.money import format_cny

log = logging.getLogger("claimbot.reminders")

router = Router()

VERB = "remind"
SYSTEM_USER = "claimbot-reminders"  # the pseudo-actor of reminder events; never a real user id


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    after: timedelta  # from "waiting since" to reminder 1
    every: timedelta  # between later reminders
    zone: tzinfo  # the wall clock of the quiet hours
    quiet: tuple[time, time] | None = None  # (start, end), may wrap past midnight
    escalate_after: int = 0  # reminders before managers hear too; 0 = never

    @classmethod
    def from_config(cls, approval: ApprovalConfig) -> ReminderPolicy | None:
        """The policy ``[approval]`` describes, or None when reminders are off."""
        if not approval.reminders:
            return None
        after = timedelta(hours=approval.remind_after_hours)
        every = timedelta(hours=approval.remind_every_hours or approval.remind_after_hours)
        quiet = parse_clock_range(approval.quiet_hours) if approval.quiet_hours else None
        zone = parse_timezone(approval.timezone)
        return cls(after, every, zone, quiet, approval.escalate_after_reminders)


# ── when ──────────────────────────────────────────────────────────────────────────────────


def in_quiet_hours(moment: datetime, policy: ReminderPolicy) -> bool:
    if policy.quiet is None:
        return False
    start, end = policy.quiet
    now = moment.astimezone(policy.zone).time()
    return start <= now < end if start < end else now >= start or now < end


def quiet_hours_end(moment: datetime, policy: ReminderPolicy) -> datetime:
    """When the quiet hours that ``moment`` falls in end (``moment`` itself outside them)."""
    if policy.quiet is None or not in_quiet_hours(moment, policy):
        return moment
    start, end = policy.quiet
    local = moment.astimezone(policy.zone)
    day = local.date() + timedelta(days=1 if start > end and local.time() >= start else 0)
    return datetime.combine(day, end, tzinfo=policy.zone)


@dataclass(frozen=True, slots=True)
class Schedule:
    """How far a step's reminders have come: ``n`` are due, the next one at ``next_at``."""

    n: int
    next_at: datetime


def schedule(since: datetime, policy: ReminderPolicy) -> Schedule:
    """Before any reminder: the first is due ``after`` past ``since``, out of the quiet hours."""
    return Schedule(0, quiet_hours_end(since + policy.after, policy))


def advance(progress: Schedule, now: datetime, policy: ReminderPolicy) -> Schedule:
    """The schedule at ``now``. Each reminder is due ``every`` after the one before went out
    (not after it was first meant to), so a reminder held by the quiet hours is not followed by
    the next one a moment later, and a night of due reminders comes out as one."""
    n, moment = progress.n, progress.next_at
    while moment <= now:
        n, moment = n + 1, quiet_hours_end(moment + policy.every, policy)
    return Schedule(n, moment)


def due_at(since: datetime, n: int, policy: ReminderPolicy) -> datetime:
    """When reminder ``n`` (from 1) of a step waiting since ``since`` may go out."""
    moment = schedule(since, policy).next_at
    for _ in range(n - 1):
        moment = quiet_hours_end(moment + policy.every, policy)
    return moment


def reminder_due(since: datetime, now: datetime, policy: ReminderPolicy) -> int:
    """The number of the latest reminder due at ``now`` (0: none yet). Inside the quiet hours
    it is the one before them, which has gone out already."""
    return advance(schedule(since, policy), now, policy).n


def escalates(n: int, policy: ReminderPolicy) -> bool:
    return policy.escalate_after > 0 and n > policy.escalate_after


def waiting_since(claim: Claim, submitted: list[datetime]) -> datetime:
    """When the current step began: the previous step's decision, else the (latest) submission.

    ``submitted`` holds the times of the claim's "submitted" audit entries, oldest first.
    """
    if claim.current_step > 0:
        decided = claim.steps[claim.current_step - 1].decided_at
        if decided is not None:
            return decided
    return submitted[-1] if submitted else claim.updated_at


def reminder_key(claim: Claim, n: int) -> str:
    """Names reminder ``n`` of the claim's current wait; the version changes with every step."""
    return f"{claim.id}:{claim.version}:{claim.current_step}:{n}"


def reminder_event(claim: Claim, n: int, since: datetime) -> CardActionEvent:
    """The event the sweep dispatches to :func:`remind` for reminder ``n``."""
    actor = Actor(claim.platform, SYSTEM_USER, "claimbot")
    return CardActionEvent(
        claim.platform, f"remind:{reminder_key(claim, n)}", actor,
        f"{VERB}:{claim.id}:{claim.version}", {"n": str(n), "since": since.isoformat()},
    )


# ── what ──────────────────────────────────────────────────────────────────────────────────

TEXTS = {
    "zh-CN": {
        "remind": "⏰ 催办：{applicant}的报销单 {id}（{total}）在“{step}”已等待你审批 {waited}，"
        "请尽快处理。",
        "nth": "（第 {n} 次提醒）",
        "escalate": "⏰ 报销单 {id}（{applicant}，{total}）在“{step}”等待 {approvers} 审批已 "
        "{waited}，提醒 {n} 次仍未处理，请关注。",
        "hours": "{h} 小时",
        "days": "{d} 天",
        "days_hours": "{d} 天 {h} 小时",
    },
    "en-US": {
        "remind": "⏰ Reminder: {applicant}'s claim {id} ({total}) has waited {waited} for your "
        "approval at \"{step}\".",
        "nth": " (reminder {n})",
        "escalate": "⏰ Claim {id} ({applicant}, {total}) has waited {waited} for {approvers} at "
        "\"{step}\"; {n} reminders have gone unanswered.",
        "hours": "{h} hours",
        "days": "{d} days",
        "days_hours": "{d} days {h} hours",
    },
}


def _texts(lang: str) -> dict[str, str]:
    return TEXTS.get(lang, TEXTS["zh-CN"])


def waited_text(waited: timedelta, lang: str) -> str:
    """Whole hours up to two days, then days and hours: ``26 小时``, ``3 天 4 小时``."""
    hours = max(0, int(waited.total_seconds() // 3600))
    texts = _texts(lang)
    if hours < 48:
        return texts["hours"].format(h=hours)
    days, hours = divmod(hours, 24)
    return (texts["days_hours"] if hours else texts["days"]).format(d=days, h=hours)


def reminder_text(claim: Claim, n: int, waited: timedelta, lang: str) -> str:
    texts = _texts(lang)
    text = texts["remind"].format(
        applicant=claim.applicant.name or claim.applicant.user_id, id=claim.id,
        total=format_cny(claim.total), step=claim.steps[claim.current_step].name,
        waited=waited_text(waited, lang),
    )
    return text + texts["nth"].format(n=n) if n > 1 else text


def escalation_text(claim: Claim, n: int, waited: timedelta, approvers: str, lang: str) -> str:
    return _texts(lang)["escalate"].format(
        id=claim.id, applicant=claim.applicant.name or claim.applicant.user_id,
        total=format_cny(claim.total), step=claim.steps[claim.current_step].name,
        approvers=approvers, waited=waited_text(waited, lang), n=n,
    )


# ── the handler ───────────────────────────────────────────────────────────────────────────


@router.card_action(VERB)
async def remind(ctx: HandlerContext) -> None:
    """Send reminder ``form["n"]`` if the claim still waits at the version the sweep saw."""
    assert isinstance(ctx.event, CardActionEvent)
    action = parse_action(ctx.event.action)
    claim = await ctx.storage.get_claim(action.claim_id) if action else None
    policy = ReminderPolicy.from_config(ctx.config.approval)
    if action is None or claim is None or policy is None or claim.version != action.version \
            or claim.status is not ClaimStatus.APPROVING:
        ctx.inline = toast("moved on", "info")
        return
    n = int(ctx.event.form.get("n", "1"))
    waited = ctx.now - datetime.fromisoformat(ctx.event.form["since"])
    approvers = [a for a in claim.pending_approvers if a != claim.applicant.user_id]
    names = await _names(ctx, claim)
    budget = await budget_of(ctx, claim)
    for approver in approvers:
        ctx.lang = await language_of(ctx, claim.platform, approver)
        to = person_recipient(claim.platform, approver)
        ctx.send(Text(to, reminder_text(claim, n, waited, ctx.lang)))
        ctx.send(Card(to, "approval_request", approval_request_data(claim, names, ctx, budget),
                      claim_id=claim.id, lang=ctx.lang))
    told = await _escalate(ctx, claim, n, waited, approvers, names) if escalates(n, policy) else []
    detail = f"#{n} to {', '.join(approvers)}" + (f"; managers {', '.join(told)}" if told else "")
    ctx.commit.audit.append(AuditEntry(claim.id, ctx.now, "system", "reminded", detail,
                                       from_version=claim.version))
    ctx.inline = toast("sent", "success")


async def _escalate(ctx: HandlerContext, claim: Claim, n: int, waited: timedelta,
                    approvers: list[str], names: dict[str, str]) -> list[str]:
    """Tell the approvers' managers (not the approvers themselves, nor the applicant)."""
    managers = await managers_of(ctx, approvers)
    managers = [m for m in managers if m not in approvers and m != claim.applicant.user_id]
    who = "、".join(names.get(a, a) for a in approvers)
    for manager in managers:
        lang = await language_of(ctx, claim.platform, manager)
        ctx.send(Text(person_recipient(claim.platform, manager),
                      escalation_text(claim, n, waited, who, lang)))
    return managers


async def managers_of(ctx: HandlerContext, user_ids: list[str]) -> list[str]:
    """Each one's manager, in order and once; a directory that fails now means none this time."""
    org = ctx.org()
    found: list[str] = []
    for user_id in user_ids:
        try:
            manager = await org.manager_of(user_id) if org else ""
        except Exception as exc:  # the platform is down: remind now, escalate next time
            log.warning("no manager of %s for an escalation: %s", user_id, exc)
            continue
        if manager and manager not in found:
            found.append(manager)
    return found


async def _names(ctx: HandlerContext, claim: Claim) -> dict[str, str]:
    """Display names; ids when the directory cannot answer (a reminder still goes out)."""
    try:
        return await display_names(ctx, claim)
    except Exception as exc:
        log.warning("names for the reminder of %s unavailable: %s", claim.id, exc)
        return {claim.applicant.user_id: claim.applicant.name}

