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
    },
}


def say(key: str, lang: str = "zh-CN", **params: Any) -> str:
    table = TEXTS.get(lang, TEXTS["zh-CN"])
    text = table.get(key) or TEXTS["zh-CN"][key]
    return text.format(**params) if params else text
