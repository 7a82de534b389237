"""Hesi's open API as a test peer: tokens that expire, versioned templates, unique outerCode.

State lives in memory. Wire details follow the vendor docs (research/backends.md §1): keys in the
token body only (403 otherwise), ``accessToken`` on the query of every call, ``[id]`` path
arrays sent raw, the verbatim Chinese error messages, 412 for a missing document. Faults:
``fail_next`` (statuses for the next business calls), ``drop_after_create`` (commit the document,
then cut the connection), ``reject_first_use`` (403 on a token's first use, as before 1.17.0),
``delay``. Test hooks: ``bump_template``, ``set_state``, ``outbound`` (post an outbound message).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp
from aiohttp import web

DUPLICATE = "外部系统单据编号outerCode已存在单据，不允许重复，请检查"
STALE = "openapi单据数据保存，单据模板已删除"
STALE_DETAIL = "openapi单据数据保存，明细模板已删除"
CORP = "CORP01"
SPEC = "ID01spec"


@dataclass
class FakeHesi:
    app_key: str = "hesi-key"
    app_secret: str = "hesi-secret"
    token_ttl: float = 7200.0
    clock: Callable[[], float] = time.time
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)  # USERID/MAIL/CODE:value
    template_version: int = 1
    fee_types: dict[str, int] = field(default_factory=lambda: {"corp:taxi": 1, "corp:meal": 1})
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # by flowId
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh -> access
    calls: list[str] = field(default_factory=list)
    issued: int = 0
    refreshed: int = 0
    fail_next: list[int] = field(default_factory=list)
    drop_after_create: int = 0
    create_failures: list[int] = field(default_factory=list)  # statuses for the next creates
    hide_once: bool = False  # the next outerCode lookup misses (a lookup racing a create)
    reject_first_use: bool = False
    delay: float = 0.0
    raw_paths: list[str] = field(default_factory=list)
    _used: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application()
        r = app.router
        r.add_post("/api/openapi/v1/auth/getAccessToken", self.get_token)
        r.add_post("/api/openapi/v2/auth/refreshToken", self.refresh)
        r.add_get("/api/openapi/v2/specifications/byIds/{ids}", self.specifications)
        r.add_post("/api/openapi/v2/specifications/feeType/byIdsAndCodes", self.fee_specs)
        r.add_post("/api/openapi/v1/staffs/getStaffIds", self.staff_ids)
        r.add_post("/api/openapi/v2.2/flow/data", self.create)
        r.add_get("/api/openapi/v1.1/flowDetails/outerCode", self.by_outer_code)
        r.add_get("/api/openapi/v1.1/flowDetails", self.by_flow_id)
        return app

    def add_staff(self, staff_id: str, *, userid: str = "", mail: str = "", code: str = "",
                  department: str = "CORP01:sales") -> None:
        record = {"id": f"{CORP}:{staff_id}", "name": staff_id, "active": True,
                  "defaultDepartment": department, "userId": userid, "email": mail, "code": code}
        for kind, value in (("USERID", userid), ("MAIL", mail), ("CODE", code)):
            if value:
                self.staff[f"{kind}:{value}"] = record

    # -- test hooks ------------------------------------------------------------------------
    def bump_template(self) -> None:
        self.template_version += 1

    def by_outer(self, outer: str) -> dict[str, Any] | None:
        return next((d for d in self.documents.values() if d["form"]["outerCode"] == outer), None)

    def set_state(self, outer: str, state: str) -> str:
        doc = self.by_outer(outer)
        assert doc is not None
        doc["state"] = state
        return str(doc["id"])

    async def outbound(self, url: str, flow_id: str, action: str, state: str) -> int:
        body = {"flowId": flow_id, "nodeId": "FLOW:1:2", "action": action, "state": state,
                "actionName": action, "userInfo": {"id": f"{CORP}:x", "name": "张三"}}
        async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
            return response.status

    # -- auth --------------------------------------------------------------------------------
    def _issue(self) -> dict[str, Any]:
        self.issued += 1
        access, refresh = f"ID_tok{self.issued}:{CORP}", f"refresh{self.issued}"
        self.tokens[access] = self.clock() + self.token_ttl
        self.refresh_tokens[refresh] = access
        return {"accessToken": access, "refreshToken": refresh,
                "expireTime": int(self.tokens[access] * 1000), "corporationId": CORP}

    async def get_token(self, request: web.Request) -> web.Response:
        if "appKey" in request.query:
            return web.Response(status=403, text="密钥无效")
        body = await request.json()
        if (body.get("appKey"), body.get("appSecurity")) != (self.app_key, self.app_secret):
            return web.Response(status=403, text="密钥无效")
        return web.json_response({"value": self._issue()})

    async def refresh(self, request: web.Request) -> web.Response:
        access, refresh = request.query.get("accessToken", ""), request.query.get("refreshToken")
        if self.refresh_tokens.get(refresh or "") != access or not self._valid(access):
            return web.Response(status=403, text="未授权")
        del self.tokens[access]
        self.refreshed += 1
        value = self._issue()
        self.tokens[value["accessToken"]] = self.clock() + 32 * 86400
        value["expireTime"] = int(self.tokens[value["accessToken"]] * 1000)
        return web.json_response({"value": value})

    def _valid(self, token: str) -> bool:
        return self.tokens.get(token, 0) > self.clock()

    async def _gate(self, request: web.Request) -> web.Response | None:
        self.calls.append(f"{request.method} {request.path}")
        self.raw_paths.append(request.raw_path)
        if self.delay:
            await asyncio.sleep(self.delay)
        token = request.query.get("accessToken", "")
        if not self._valid(token):
            return web.Response(status=403, text="未授权")
        if self.reject_first_use and token not in self._used:
            self._used.add(token)
            return web.Response(status=403, text="未授权")
        if self.fail_next:
            return web.Response(status=self.fail_next.pop(0), text="服务器内部错误")
        return None

    # -- reference data ----------------------------------------------------------------------
    async def specifications(self, request: web.Request) -> web.Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        if "[" not in request.raw_path:
            return web.Response(status=400, text="ids must be written [a,b]")
        ids = request.match_info["ids"].strip("[]").split(",")
        items = [{"id": f"{i}:v{self.template_version}", "name": "日常报销"} for i in ids
                 if i == SPEC]
        return web.json_response({"items": items})

    async def fee_specs(self, request: web.Request) -> web.Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        ids = (await request.json()).get("ids", [])
        items = [{"id": i, "expenseSpecificationId": f"{i}:expense:v{self.fee_types[i]}"}
                 for i in ids if i in self.fee_types]
        return web.json_response({"items": items})

    async def staff_ids(self, request: web.Request) -> web.Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        body = await request.json()
        found = [self.staff[f"{body['type']}:{v}"] for v in body["conditionIds"]
                 if f"{body['type']}:{v}" in self.staff]
        return web.json_response({"count": len(found), "items": found})

    # -- documents ---------------------------------------------------------------------------
    async def create(self, request: web.Request) -> web.StreamResponse:
        if (refused := await self._gate(request)) is not None:
            return refused
        if self.create_failures:
            return web.Response(status=self.create_failures.pop(0), text="服务器内部错误")
        form = (await request.json())["form"]
        problem = self._invalid(form)
        if problem:
            return web.Response(status=400 if "模板" in problem or "outer" in problem else 412,
                                text=problem)
        flow_id = f"ID_flow{len(self.documents) + 1}"
        state = "approving" if request.query.get("isCommit") == "true" else "draft"
        code = f"B26{len(self.documents) + 1:06d}"
        doc = {"id": flow_id, "state": state, "formType": "expense",
               "form": {**form, "code": code}}
        self.documents[flow_id] = doc
        if self.drop_after_create:
            self.drop_after_create -= 1
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        return web.json_response({"value": "", "type": -1, "flow": doc})

    def _invalid(self, form: dict[str, Any]) -> str:
        if form.get("specificationId") != f"{SPEC}:v{self.template_version}":
            return STALE
        if self.by_outer(str(form.get("outerCode"))) is not None:
            return DUPLICATE
        if form.get("submitterId") not in {s["id"] for s in self.staff.values()}:
            return "提交人参数不合法"
        for detail in form.get("details", []):
            version = self.fee_types.get(detail.get("feeTypeId"))
            if detail.get("specificationId") != f"{detail.get('feeTypeId')}:expense:v{version}":
                return STALE_DETAIL
            problem = _amount_problem(detail["feeTypeForm"].get("amount"))
            if problem:
                return problem
        return ""

    async def by_outer_code(self, request: web.Request) -> web.Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        doc = self.by_outer(request.query.get("outerCode", ""))
        if self.hide_once:
            self.hide_once = False
            doc = None
        if doc is None:
            return web.Response(status=412, text="单据不存在")
        if doc["state"] == "deleted":
            return web.Response(status=412, text="单据已删除")
        return web.json_response({"value": doc})

    async def by_flow_id(self, request: web.Request) -> web.Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        doc = self.documents.get(request.query.get("flowId", ""))
        if doc is None:
            return web.Response(status=412, text="单据不存在")
        return web.json_response({"value": doc})


def _amount_problem(amount: Any) -> str:
    if not isinstance(amount, dict) or not isinstance(amount.get("standard"), str):
        return "'金额'值不符合金额格式"
    if amount.get("standardStrCode") != "CNY" or amount.get("standardNumCode") != "156":
        return "'金额'值不符合金额格式"
    try:
        value = Decimal(amount["standard"])
    except InvalidOperation:
        return "'金额'值不符合金额格式"
    if value < Decimal("0.01") or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return "注意：单据金额有误"
    return ""


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
