"""The Hesi (合思) connector: an approved claim becomes a submitted 报销单 in Hesi, exactly once.

``outerCode`` = ``outer_code_prefix`` + claim id is the idempotency key: Hesi refuses a second
document with it. So a delivery first looks the code up (a create that committed before the
connection dropped, or before a crash, is adopted), then creates with ``isCommit=true`` and
``isUpdate=true`` (a submit Hesi cannot complete stays a draft instead of failing the create);
an answer that the code already exists is confirmed by a lookup. The expense template is
resolved to its current ``id:version`` before creating (only the latest is accepted) and again
when Hesi says a template was deleted; fee types come from ``[backend.fee_types]``.

Only an event whose snapshot is approved creates a document (``approved``, or ``submitted`` when
no step applied): before that the claim is still being decided in chat, and later outcomes
(payment) are learnt from Hesi — by its outbound messages and by polling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from bot.backends.base import PermanentBackendError, SyncEvent, TransientBackendError
from bot.backends.hesi_client import HesiAnswer, HesiClient
from storage.models import Claim, ClaimStatus, Person

log = logging.getLogger("claimbot.hesi")

CREATE_PATH = "/api/openapi/v2.2/flow/data"
BY_OUTER_CODE = "/api/openapi/v1.1/flowDetails/outerCode"
BY_FLOW_ID = "/api/openapi/v1.1/flowDetails"
STAFF_PATH = "/api/openapi/v1/staffs/getStaffIds"
FEE_SPEC_PATH = "/api/openapi/v2/specifications/feeType/byIdsAndCodes"
REFERENCE_TTL = 300.0  # seconds a resolved template version or staff id is trusted
DUPLICATE = "outerCode已存在"
STALE_TEMPLATE = ("模板已删除", "单据模板不存在")
MISSING, DELETED = "单据不存在", "单据已删除"
CHINA = timezone(timedelta(hours=8))


def money(amount: Decimal) -> dict[str, Any]:
    """Hesi's amount object: a plain decimal string in CNY and the fixed currency fields."""
    return {"standard": f"{amount:.2f}", "standardStrCode": "CNY", "standardNumCode": "156",
            "standardSymbol": "¥", "standardUnit": "元", "standardScale": 2}


def epoch_ms(day: date) -> int:
    """Midnight of ``day`` in China (UTC+8), as Hesi's epoch milliseconds."""
    return int(datetime.combine(day, datetime.min.time(), CHINA).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Document:
    flow_id: str
    code: str
    state: str  # draft, pending, approving, rejected, paying, PROCESSING, paid, archived, …
    outer_code: str


@dataclass(frozen=True, slots=True)
class HesiSettings:
    specification_id: str
    fee_types: Mapping[str, str]
    default_fee_type: str = ""
    outer_code_prefix: str = "claimbot-"


class HesiBackend:
    def __init__(self, client: HesiClient, settings: HesiSettings) -> None:
        self.client = client
        self._settings = settings
        self._cache: dict[str, tuple[float, Any]] = {}

    def outer_code(self, claim_id: str) -> str:
        return self._settings.outer_code_prefix + claim_id

    def claim_id_of(self, outer_code: str) -> str | None:
        prefix = self._settings.outer_code_prefix
        return outer_code[len(prefix):] if outer_code.startswith(prefix) else None

    async def deliver(self, event: SyncEvent) -> None:
        if event.claim.status is not ClaimStatus.APPROVED:  # "submitted" may approve outright
            log.info("hesi: %s needs no document", event.idempotency_key)
            return
        outer = self.outer_code(event.claim.id)
        if await self.find(outer) is not None:
            return
        try:
            await self._create(event.claim, outer)
        except TransientBackendError:
            if await self.find(outer) is not None:  # it committed before the answer was lost
                return
            raise

    async def _create(self, claim: Claim, outer: str) -> None:
        for attempt in (1, 2):
            form = await self.form(claim, outer)
            answer = await self.client.call(
                "POST", CREATE_PATH, params={"isCommit": "true", "isUpdate": "true"},
                body={"form": form},
            )
            if answer.ok or (answer.says(DUPLICATE) and await self.find(outer) is not None):
                return
            if attempt == 1 and answer.says(*STALE_TEMPLATE):
                self._cache.clear()  # an admin edited a template: resolve versions again
                continue
            raise answer.problem(f"create {outer}")

    async def find(self, outer_code: str) -> Document | None:
        """The document with this outerCode; None when there is none (412 单据不存在)."""
        answer = await self.client.call("GET", BY_OUTER_CODE, params={"outerCode": outer_code})
        if not answer.ok and answer.says(MISSING):
            return None
        if not answer.ok and answer.says(DELETED):
            raise answer.problem(f"{outer_code} was deleted in Hesi; not recreating it")
        return self._document(answer, outer_code)

    async def document(self, flow_id: str) -> Document:
        """Re-read a document by its flowId (the truth behind an outbound message)."""
        answer = await self.client.call("GET", BY_FLOW_ID, params={"flowId": flow_id})
        return self._document(answer, flow_id)

    @staticmethod
    def _document(answer: HesiAnswer, what: str) -> Document:
        value = answer.data.get("value") if isinstance(answer.data, dict) else None
        if not answer.ok or not isinstance(value, dict):
            raise answer.problem(f"flowDetails {what}")
        raw_form = value.get("form")
        form: dict[str, Any] = raw_form if isinstance(raw_form, dict) else {}
        return Document(str(value.get("id", "")), str(form.get("code", "")),
                        str(value.get("state", "")), str(form.get("outerCode", "")))

    async def form(self, claim: Claim, outer: str) -> dict[str, Any]:
        staff_id, department = await self.staff(claim.applicant)
        details = [
            {"feeTypeId": fee, "specificationId": await self.fee_specification(fee),
             "feeTypeForm": {"amount": money(item.amount), "feeDate": epoch_ms(item.spent_on),
                             "consumptionReasons": item.description or item.category,
                             "invoiceForm": {"type": "exist" if item.invoice_key else "noExist"}}}
            for item in claim.items
            for fee in [self.fee_type(item.category)]
        ]
        form: dict[str, Any] = {
            "outerCode": outer, "title": claim.title or f"{claim.applicant.name} {claim.id}",
            "submitterId": staff_id, "specificationId": await self.specification(),
            "expenseDate": epoch_ms(max(item.spent_on for item in claim.items)),
            "description": f"claimbot {claim.id}", "details": details,
        }
        if department:
            form["expenseDepartment"] = department
        return form

    def fee_type(self, category: str) -> str:
        fee = self._settings.fee_types.get(category) or self._settings.default_fee_type
        if not fee:
            raise PermanentBackendError(f"hesi: no fee type for category {category!r}; "
                                        "add it to [backend.fee_types]")
        return fee

    def _cached(self, key: str) -> Any:
        hit = self._cache.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def _keep(self, key: str, value: Any) -> Any:
        self._cache[key] = (time.monotonic() + REFERENCE_TTL, value)
        return value

    async def specification(self) -> str:
        """The expense template's current ``id:version``."""
        spec = self._settings.specification_id
        if (known := self._cached(f"spec:{spec}")) is not None:
            return str(known)
        answer = await self.client.call("GET", f"/api/openapi/v2/specifications/byIds/[{spec}]")
        items = answer.data.get("items") if isinstance(answer.data, dict) else None
        if not answer.ok or not items or ":" not in str(items[0].get("id", "")):
            raise answer.problem(f"template {spec}")
        return str(self._keep(f"spec:{spec}", str(items[0]["id"])))

    async def fee_specification(self, fee_type: str) -> str:
        if (known := self._cached(f"fee:{fee_type}")) is not None:
            return str(known)
        answer = await self.client.call("POST", FEE_SPEC_PATH, body={"ids": [fee_type]})
        items = answer.data.get("items") if isinstance(answer.data, dict) else None
        found = [i for i in items or () if i.get("id") == fee_type]
        if not answer.ok or not found or not found[0].get("expenseSpecificationId"):
            raise answer.problem(f"fee type {fee_type}")
        return str(self._keep(f"fee:{fee_type}", str(found[0]["expenseSpecificationId"])))

    async def staff(self, person: Person) -> tuple[str, str]:
        """(Hesi staff id, default department) by platform user id, then email, then 工号."""
        key = f"staff:{person.key}"
        if (known := self._cached(key)) is not None:
            return str(known[0]), str(known[1])
        for kind, value in (("USERID", person.user_id), ("MAIL", person.email.lower()),
                            ("CODE", person.employee_no)):
            if not value:
                continue
            answer = await self.client.call("POST", STAFF_PATH,
                                            body={"type": kind, "conditionIds": [value]})
            items = answer.data.get("items") if isinstance(answer.data, dict) else None
            if answer.ok and items and (kind != "CODE" or len(items) == 1):
                staff = items[0]
                found = (str(staff["id"]), str(staff.get("defaultDepartment") or ""))
                self._keep(key, found)
                return found
        raise PermanentBackendError(f"hesi: no active staff for {person.key} "
                                    "(by user id, email or employee number)")
