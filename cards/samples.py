"""Sample ``data`` for every card in the catalogue: the contract between handlers and templates.

Handlers build exactly these shapes (every value already formatted for display: amounts as
``¥1,234.50``, dates as ``2026-11-28``); each platform's template renders them. Tests render
every template with these samples, and with hostile text substituted into every string.
Action strings are compact payloads (``approve:BX-2026-000123:4``) placed in buttons as they are.
"""

from __future__ import annotations

import copy
from typing import Any

_CLAIM: dict[str, Any] = {
    "id": "BX-2026-000123",
    "version": 4,
    "title": "客户现场拜访",
    "status": "approving",
    "status_label": "审批中",
    "applicant": {"name": "张三", "user_id": "zhangsan", "department": "市场部"},
    "total": "¥1,234.50",
    "total_capital": "壹仟贰佰叁拾肆元伍角整",
    "created_at": "2026-11-28 09:30",
    "items": [
        {
            "category": "交通-打车",
            "amount": "¥45.50",
            "date": "2026-11-27",
            "description": "去客户现场",
            "invoice": "",
            "attachments": 1,
        },
        {
            "category": "业务招待",
            "amount": "¥1,189.00",
            "date": "2026-11-27",
            "description": "与客户午餐（3 人）",
            "invoice": "26312000000012345678",
            "attachments": 2,
        },
    ],
    "flags": [
        {"level": "warning", "text": "业务招待单笔超过 ¥1,000.00，请附说明"},
    ],
    "attachments": [{"name": "receipt-1.jpg", "size": "182 KB"}],
    "steps": [
        {
            "name": "直属上级",
            "approver": "李四",
            "decision": "approve",
            "decision_label": "已同意",
            "comment": "同意",
            "at": "2026-11-28 10:02",
            "current": False,
        },
        {
            "name": "财务审核",
            "approver": "赵六",
            "decision": "",
            "decision_label": "待审批",
            "comment": "",
            "at": "",
            "current": True,
        },
    ],
    "waiting_for": "赵六",
}

SAMPLES: dict[str, dict[str, Any]] = {
    "claim_draft": {
        "claim": _CLAIM,
        "actions": {
            "submit": "submit:BX-2026-000123:4",
            "add_item": "add_item:BX-2026-000123:4",
            "cancel": "cancel:BX-2026-000123:4",
        },
    },
    "claim_status": {
        "claim": _CLAIM,
        # Only the actions allowed now are present; an absent key means no button.
        "actions": {"withdraw": "withdraw:BX-2026-000123:4"},
    },
    "approval_request": {
        "claim": _CLAIM,
        "step": {
            "name": "财务审核",
            "index": 2,
            "count": 2,
            "reason": "所有报销单都需财务审核",
            "next": "",
        },
        "budget": "市场部 11 月预算剩余 ¥8,765.00",
        "actions": {
            "approve": "approve:BX-2026-000123:4",
            "reject": "reject:BX-2026-000123:4",
            "return": "return:BX-2026-000123:4",
        },
        # Preset reasons for platforms whose cards have no free-text input (WeCom, DingTalk);
        # "other" asks the approver for a message instead.
        "reject_reasons": ["票据不全", "超出标准", "与业务无关", "other"],
    },
    "approval_decided": {
        "claim": _CLAIM,
        "decision": {
            "kind": "approve",
            "label": "已同意",
            "by": "赵六",
            "at": "2026-11-28 11:15",
            "comment": "",
        },
    },
    "finance_notice": {
        "claim": _CLAIM,
        "payee": {"name": "张三", "account": "招商银行 尾号 1234"},
        "paid": {"by": "", "at": ""},
        "actions": {"mark_paid": "mark_paid:BX-2026-000123:5"},
    },
    "claim_list": {
        "title": "我的报销",
        "claims": [
            {
                "id": "BX-2026-000123",
                "title": "客户现场拜访",
                "total": "¥1,234.50",
                "status_label": "审批中",
                "waiting_for": "赵六",
                "created_at": "2026-11-28",
                "open": "open:BX-2026-000123:4",
            },
            {
                "id": "BX-2026-000101",
                "title": "出差北京",
                "total": "¥3,020.00",
                "status_label": "已付款",
                "waiting_for": "",
                "created_at": "2026-11-02",
                "open": "open:BX-2026-000101:7",
            },
        ],
        "more": 3,
    },
    "prompt": {
        "text": "这笔费用属于哪一类？",
        "choices": [
            {"label": "交通-打车", "action": "choose:category:taxi"},
            {"label": "餐费", "action": "choose:category:meal"},
        ],
        # When set, platforms with form inputs show a text input named "answer".
        "input": {"name": "answer", "placeholder": "也可以直接回复文字"},
    },
    "help": {
        "title": "报销助手可以做什么",
        "lines": [
            "报销 打车 45.5 昨天 去客户现场 — 一句话提交一笔报销",
            "我的报销 — 查看我的报销单",
            "待我审批 — 查看等我审批的报销单",
            "撤回 BX-2026-000123 — 在最终审批前撤回",
        ],
    },
}


def sample(name: str) -> dict[str, Any]:
    """A deep copy, so a test may mutate it."""
    return copy.deepcopy(SAMPLES[name])


def hostile(value: Any, text: str) -> Any:
    """The same structure with every string value (not the action payloads) replaced by ``text``."""
    if isinstance(value, dict):
        keep = {"actions", "action", "open"}
        return {k: v if k in keep else hostile(v, text) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile(v, text) for v in value]
    if isinstance(value, str):
        return text
    return value
