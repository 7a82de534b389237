"""The unified JSON schema of a claim outcome (``claimbot.claim-event/1``), as sent to backends.

Every value is a string, an integer, a boolean, null, a list or an object: money is a decimal
string with two places (``"1234.50"``, CNY), times are ISO 8601 with offset, dates ``YYYY-MM-DD``.
The document describes the claim exactly as it was at ``claim.version``: a later change of the
claim never alters what an earlier event reports. Field by field::

    schema            "claimbot.claim-event/1"
    event             submitted | approved | rejected | returned | withdrawn | paid
    idempotency_key   "<claim id>:<version>:<event>" (also the Idempotency-Key header)
    occurred_at       when the claim reached this version
    claim.id, .title, .status, .version, .currency ("CNY"), .total, .created_at, .updated_at,
    claim.flags       policy and invoice flags raised on the claim
    claim.applicant   {name, platform, user_id, ids: {<platform>: <user id>}, email, employee_no}
    claim.department  {id, name} as the platform directory knows the applicant's department
    claim.items[]     {line, category, category_name, amount, currency, spent_on, description,
                       fields: {<category field>: <value>},
                       invoice: null | {key, kind: "fully_digital" | "coded", code, number},
                       attachments: [{id (sha256), filename, content_type, size}]}
    claim.approval    {current_step: index or null, steps: [{index, name, reason,
                       approvers: [{platform, user_id}], decision: approve | reject | return |
                       skip | null, decided_by: {platform, user_id} | null, comment, decided_at}]}
    claim.trail[]     {at, actor ("<platform>:<user id>" or "system"), action, detail,
                       from_version, to_version}: every change up to this version, in order
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.backends.base import SyncEvent
from storage.models import ApprovalStep, AuditEntry, Claim, ClaimItem, ClaimStatus

SCHEMA = "claimbot.claim-event/1"
CURRENCY = "CNY"


def build_payload(event: SyncEvent, category_names: Mapping[str, str]) -> dict[str, Any]:
    claim = event.claim
    return {
        "schema": SCHEMA,
        "event": event.event,
        "idempotency_key": event.idempotency_key,
        "occurred_at": claim.updated_at.isoformat(),
        "claim": {
            "id": claim.id,
            "title": claim.title,
            "status": claim.status.value,
            "version": claim.version,
            "currency": CURRENCY,
            "total": f"{claim.total:.2f}",
            "created_at": claim.created_at.isoformat(),
            "updated_at": claim.updated_at.isoformat(),
            "flags": list(claim.flags),
            "applicant": _applicant(claim),
            "department": {
                "id": claim.applicant.department_id,
                "name": claim.applicant.department_name,
            },
            "items": [
                _item(index, item, event, category_names)
                for index, item in enumerate(claim.items, start=1)
            ],
            "approval": _approval(claim),
            "trail": [_entry(entry) for entry in event.trail],
        },
    }


def _applicant(claim: Claim) -> dict[str, Any]:
    person = claim.applicant
    return {
        "name": person.name,
        "platform": person.platform,
        "user_id": person.user_id,
        "ids": {person.platform: person.user_id},
        "email": person.email,
        "employee_no": person.employee_no,
    }


def invoice_of(key: str) -> dict[str, str] | None:
    """A registry key as the backend reads it: a 20-digit 数电票 number, or code-number."""
    if not key:
        return None
    if "-" in key:
        code, number = key.split("-", 1)
        return {"key": key, "kind": "coded", "code": code, "number": number}
    return {"key": key, "kind": "fully_digital", "code": "", "number": key}


def _item(
    line: int, item: ClaimItem, event: SyncEvent, category_names: Mapping[str, str]
) -> dict[str, Any]:
    attachments = []
    for attachment_id in item.attachments:
        meta = event.attachments.get(attachment_id)
        attachments.append({
            "id": attachment_id,
            "filename": meta.filename if meta else "",
            "content_type": meta.content_type if meta else "",
            "size": meta.size if meta else None,
        })
    return {
        "line": line,
        "category": item.category,
        "category_name": category_names.get(item.category, item.category),
        "amount": f"{item.amount:.2f}",
        "currency": CURRENCY,
        "spent_on": item.spent_on.isoformat(),
        "description": item.description,
        "fields": dict(item.extra),
        "invoice": invoice_of(item.invoice_key),
        "attachments": attachments,
    }


def _person(platform: str, user_id: str) -> dict[str, str] | None:
    return {"platform": platform, "user_id": user_id} if user_id else None


def _step(index: int, step: ApprovalStep, platform: str) -> dict[str, Any]:
    return {
        "index": index,
        "name": step.name,
        "reason": step.reason,
        "approvers": [_person(platform, approver) for approver in step.approvers],
        "decision": step.decision.value if step.decision else None,
        "decided_by": _person(platform, step.decided_by),
        "comment": step.comment,
        "decided_at": step.decided_at.isoformat() if step.decided_at else None,
    }


def _approval(claim: Claim) -> dict[str, Any]:
    waiting = claim.status is ClaimStatus.APPROVING and bool(claim.steps)
    return {
        "current_step": claim.current_step if waiting else None,
        "steps": [_step(i, step, claim.platform) for i, step in enumerate(claim.steps)],
    }


def _entry(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "detail": entry.detail,
        "from_version": entry.from_version,
        "to_version": entry.to_version,
    }


def trail_upto(entries: list[AuditEntry], version: int) -> tuple[AuditEntry, ...]:
    """The changes that made the claim what it was at ``version``.

    Audit entries are append-only and each change records the version it produced, so this is
    the same list whenever it is read. Entries with no version (refused clicks) are left out:
    they changed nothing.
    """
    return tuple(e for e in entries if 0 < e.to_version <= version)
