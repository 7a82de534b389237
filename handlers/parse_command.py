"""The bot's commands, recognised only when they are the whole message.

``detect_command`` answers None for anything else, including a one-line claim ("报销 打车 45"),
which :func:`handlers.parsing.parse_claim_text` reads. An edit carries the new value as typed;
the handler reads it with ``parse_amount``/``parse_date`` or the category list and asks again on
a :class:`~handlers.parse_common.ParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from handlers.parse_common import CONNECTORS, Source

EditField = Literal["amount", "spent_on", "category", "description"]


class CommandKind(StrEnum):
    HELP = "help"
    MINE = "mine"
    TODO = "todo"
    CANCEL = "cancel"
    WITHDRAW = "withdraw"
    SHOW = "show"
    EDIT = "edit"
    NEW_CLAIM = "new_claim"


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    claim_id: str | None = None  # WITHDRAW (None: which claim is to be asked), SHOW
    field: EditField | None = None  # EDIT
    value: str = ""  # EDIT: the new value as typed, e.g. "50", "昨天", "打车"
    item: int | None = None  # EDIT: 1-based item number when given ("第2项金额改成50")


CLAIM_ID = r"BX-\d{4}-\d{6,}"
_WORDS: dict[CommandKind, tuple[str, ...]] = {
    CommandKind.HELP: ("帮助", "/help", "help", "?", "怎么用", "使用说明"),
    CommandKind.MINE: ("我的报销", "/mine", "mine", "my claims", "我的单据"),
    CommandKind.TODO: ("待我审批", "/todo", "todo", "待审批", "我的审批"),
    CommandKind.CANCEL: ("取消", "cancel", "/cancel", "退出"),
    CommandKind.NEW_CLAIM: ("报销", "/claim", "new claim", "claim", "我要报销", "新报销"),
    CommandKind.WITHDRAW: ("撤回", "withdraw", "/withdraw"),
}
_EXACT = {word: kind for kind, words in _WORDS.items() for word in words}
_WITHDRAW = re.compile(rf"(?:撤回|撤销|/?withdraw)\s*(?P<id>{CLAIM_ID})", re.IGNORECASE)
_SHOW = re.compile(rf"(?:查看|查询|详情|/?show|/?view)?\s*(?P<id>{CLAIM_ID})", re.IGNORECASE)
_FIELD_WORDS: dict[str, EditField] = {
    **dict.fromkeys(("金额", "钱", "amount"), "amount"),
    **dict.fromkeys(("日期", "时间", "date"), "spent_on"),
    **dict.fromkeys(("类别", "类型", "分类", "category", "type"), "category"),
    **dict.fromkeys(("说明", "描述", "备注", "事由", "description", "note"), "description"),
}
_FIELD = "|".join(sorted(_FIELD_WORDS, key=len, reverse=True))
_ITEM = r"(?:第\s*(?P<n>\d{1,2})\s*[项条笔个]的?|item\s*#?(?P<n2>\d{1,2}))?"
_EDIT_ZH = re.compile(
    rf"(?:(?:把|将)\s*)?{_ITEM}\s*(?P<field>{_FIELD})\s*(?:改成|改为|改|换成|更正为|修改为|应该是|应为|是)"
    r"\s*(?::\s*)?(?P<value>(?![成为]).+)",
    re.IGNORECASE | re.DOTALL,
)
_EDIT_EN = re.compile(
    rf"(?:(?:change|set|edit|update|make)\s+(?:the\s+)?)?{_ITEM}\s*(?P<field>{_FIELD})"
    r"(?:\s+(?:to|is|=)\s*|\s*[:=]\s*|\s+)(?P<value>.+)",
    re.IGNORECASE | re.DOTALL,
)


def _edit(src: Source, start: int, end: int) -> Command | None:
    for pattern in (_EDIT_ZH, _EDIT_EN):
        found = pattern.fullmatch(src.text, start, end)
        if found is None:
            continue
        # The value as the user typed it (a description keeps its own punctuation).
        value = src.cut(found.start("value"), found.end("value")).strip(CONNECTORS)
        number = found["n"] or found["n2"]
        if value:
            return Command(
                CommandKind.EDIT,
                field=_FIELD_WORDS[found["field"].lower()],
                value=value,
                item=int(number) if number else None,
            )
    return None


def detect_command(text: str) -> Command | None:
    """The command ``text`` is, or None. Full-width characters count as half-width."""
    src = Source(text)
    kept = CONNECTORS.replace("/", "").replace("?", "")
    start = len(src.text) - len(src.text.lstrip(kept))
    end = len(src.text.rstrip(kept))
    plain = " ".join(src.text[start:end].split()).lower()
    if not plain:
        return None
    kind = _EXACT.get(plain) or _EXACT.get(plain.rstrip("?"))
    if kind is not None:
        return Command(kind)
    for pattern, command in ((_WITHDRAW, CommandKind.WITHDRAW), (_SHOW, CommandKind.SHOW)):
        found = pattern.fullmatch(plain)
        if found is not None:
            return Command(command, claim_id=found["id"].upper())
    return _edit(src, start, end)
