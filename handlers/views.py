"""Claims as card data: the display shapes of ``cards/samples.py``, every value ready to show."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from storage.models import ApprovalStep, Claim, ClaimStatus, Decision
from storage.money import capital_amount, format_cny

STATUS_LABELS: dict[str, dict[ClaimStatus, str]] = {
    "zh-CN": {
        ClaimStatus.DRAFT: "草稿",
        ClaimStatus.SUBMITTED: "已提交",
        ClaimStatus.APPROVING: "审批中",
        ClaimStatus.APPROVED: "已批准，待付款",
        ClaimStatus.PAID: "已付款",
        ClaimStatus.REJECTED: "已驳回",
        ClaimStatus.WITHDRAWN: "已撤回",
        ClaimStatus.RETURNED: "已退回修改",
    },
    "en-US": {
        ClaimStatus.DRAFT: "Draft",
        ClaimStatus.SUBMITTED: "Submitted",
        ClaimStatus.APPROVING: "Awaiting approval",
        ClaimStatus.APPROVED: "Approved, awaiting payment",
        ClaimStatus.PAID: "Paid",
        ClaimStatus.REJECTED: "Rejected",
        ClaimStatus.WITHDRAWN: "Withdrawn",
        ClaimStatus.RETURNED: "Returned for changes",
    },
}

DECISION_LABELS: dict[str, dict[str, str]] = {
    "zh-CN": {"approve": "已同意", "reject": "已驳回", "return": "已退回", "skip": "已跳过",
              "": "待审批"},
    "en-US": {"approve": "Approved", "reject": "Rejected", "return": "Returned",
              "skip": "Skipped", "": "Pending"},
}


def status_label(status: ClaimStatus, lang: str) -> str:
    return STATUS_LABELS.get(lang, STATUS_LABELS["zh-CN"])[status]


def decision_label(decision: Decision | None, lang: str) -> str:
    table = DECISION_LABELS.get(lang, DECISION_LABELS["zh-CN"])
    return table[decision.value if decision else ""]


def shown_time(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """On the wall clock of ``zone`` (``[approval] timezone``); stored moments are UTC."""
    if moment is None:
        return ""
    return (moment.astimezone(zone) if zone else moment).strftime("%Y-%m-%d %H:%M")


def action(verb: str, claim: Claim) -> str:
    """The compact, versioned payload a button carries: ``approve:BX-2026-000123:4``."""
    return f"{verb}:{claim.id}:{claim.version}"


def _name(names: Mapping[str, str], user_id: str) -> str:
    return names.get(user_id) or user_id


def _step_view(
    step: ApprovalStep, index: int, claim: Claim, names: Mapping[str, str], lang: str,
    zone: tzinfo | None = None,
) -> dict[str, Any]:
    current = claim.status is ClaimStatus.APPROVING and index == claim.current_step
    who = step.decided_by or "、".join(_name(names, a) for a in step.approvers)
    return {
        "name": step.name,
        "approver": _name(names, who) if step.decided_by else who,
        "decision": step.decision.value if step.decision else "",
        "decision_label": decision_label(step.decision, lang),
        "comment": step.comment,
        "at": shown_time(step.decided_at, zone),
        "current": current,
    }


def claim_view(
    claim: Claim,
    names: Mapping[str, str],
    lang: str = "zh-CN",
    flags: list[dict[str, str]] | None = None,
    categories: Mapping[str, str] | None = None,
    zone: tzinfo | None = None,
) -> dict[str, Any]:
    """``names`` maps user ids to display names; ``categories`` category codes to names."""
    categories = categories or {}
    waiting = ""
    if claim.status is ClaimStatus.APPROVING:
        waiting = "、".join(_name(names, a) for a in claim.pending_approvers)
    return {
        "id": claim.id,
        "version": claim.version,
        "title": claim.title,
        "status": claim.status.value,
        "status_label": status_label(claim.status, lang),
        "applicant": {
            "name": claim.applicant.name or claim.applicant.user_id,
            "user_id": claim.applicant.user_id,
            "department": claim.applicant.department_name,
        },
        "total": format_cny(claim.total),
        "total_capital": capital_amount(claim.total),
        "created_at": shown_time(claim.created_at, zone),
        "items": [
            {
                "category": categories.get(item.category, item.category),
                "amount": format_cny(item.amount),
                "date": item.spent_on.isoformat(),
                "description": item.description,
                "invoice": item.invoice_key,
                "attachments": len(item.attachments),
            }
            for item in claim.items
        ],
        "flags": flags if flags is not None else [
            {"level": "warning", "text": text} for text in claim.flags
        ],
        "attachments": [
            {"name": attachment[:12], "size": ""}
            for item in claim.items
            for attachment in item.attachments
        ],
        "steps": [_step_view(s, i, claim, names, lang, zone) for i, s in enumerate(claim.steps)],
        "waiting_for": waiting,
    }


def list_entry(
    claim: Claim, names: Mapping[str, str], lang: str, zone: tzinfo | None = None
) -> dict[str, Any]:
    view = claim_view(claim, names, lang, zone=zone)
    return {
        "id": claim.id,
        "title": claim.title,
        "total": view["total"],
        "status_label": view["status_label"],
        "waiting_for": view["waiting_for"],
        "created_at": shown_time(claim.created_at, zone)[:10],
        "open": action("open", claim),
    }
