"""What the bot says in chat, Chinese first with English available."""

from __future__ import annotations

from typing import Any

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "help_title": "报销助手可以做什么",
        "help_claim": "报销 打车 45.5 昨天 去客户现场 — 一句话提交一笔报销",
        "help_mine": "我的报销 — 查看我的报销单",
        "help_todo": "待我审批 — 查看等我审批的报销单",
        "help_withdraw": "撤回 BX-2026-000123 — 在最终审批前撤回",
        "help_lang": "English — 切换为英文",
        "not_understood": "没看懂这句话。发送“帮助”查看用法。",
        "unknown_action": "这个按钮已失效，请刷新后再试。",
        "not_your_step": "你不是这一步的审批人，无法操作。",
        "already_handled": "这张卡片已过期：报销单当前状态为“{status}”。",
        "reason_required": "请填写理由后再提交。",
        "notify_approving": "你的报销单 {id} 已由 {by} 同意，正在等待下一步审批。",
        "notify_approved": "你的报销单 {id} 已审批通过，等待财务付款。",
        "notify_rejected": "你的报销单 {id} 被 {by} 驳回：{comment}",
        "notify_returned": "你的报销单 {id} 被 {by} 退回修改：{comment}。修改后可重新提交。",
        "notify_paid": "你的报销单 {id} 已付款（{total}）。",
        "marked_paid": "已标记为已付款",
        "not_finance": "只有财务人员可以标记付款。",
        "already_paid": "这张报销单已经处理过了。",
    },
    "en-US": {
        "help_title": "What the claims bot can do",
        "help_claim": "claim taxi 45.5 yesterday client visit — file a claim in one line",
        "help_mine": "/mine — my claims",
        "help_todo": "/todo — claims waiting for my approval",
        "help_withdraw": "withdraw BX-2026-000123 — withdraw before the final decision",
        "help_lang": "中文 — switch to Chinese",
        "not_understood": "Sorry, I did not understand. Send \"help\" to see what I can do.",
        "unknown_action": "This button is no longer valid; please refresh and try again.",
        "not_your_step": "You are not the approver of this step.",
        "already_handled": "This card is out of date: the claim is now \"{status}\".",
        "reason_required": "Please give a reason first.",
        "notify_approving": "Your claim {id} was approved by {by} and waits for the next step.",
        "notify_approved": "Your claim {id} is approved and waits for payment.",
        "notify_rejected": "Your claim {id} was rejected by {by}: {comment}",
        "notify_returned": "Your claim {id} was returned by {by}: {comment}. Edit and resubmit.",
        "notify_paid": "Your claim {id} has been paid ({total}).",
        "marked_paid": "Marked as paid",
        "not_finance": "Only finance may mark claims paid.",
        "already_paid": "This claim has already been handled.",
    },
}


def say(key: str, lang: str = "zh-CN", **params: Any) -> str:
    table = TEXTS.get(lang, TEXTS["zh-CN"])
    text = table.get(key) or TEXTS["zh-CN"][key]
    return text.format(**params) if params else text
