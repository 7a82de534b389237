"""What the free-text parsers share: normalised text, spans, questions and the one error type.

Parsing never guesses silently. Whatever cannot be read with certainty becomes a
:class:`Question` (a :class:`QuestionCode` plus zh-CN and en-US text) that the guided conversation
asks; the field it concerns is left empty so nothing downstream can use a half-read value.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, TypeVar

QuestionField = Literal["category", "amount", "spent_on"]

# A masked span keeps its length (so offsets stay valid) but matches nothing: not a letter, not a
# digit, not punctuation.
MASK = "\ue000"
# Characters trimmed from the ends of a description: what joins words rather than means something.
CONNECTORS = " \t\r\n\u3000,，;；:：、。.．!！?？-－–—~～/|+=*" + MASK
_MINUS_SIGNS = {"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-"}


class QuestionCode(StrEnum):
    AMOUNT_MISSING = "amount_missing"
    AMOUNT_AMBIGUOUS = "amount_ambiguous"  # several amounts in one item
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_TOO_PRECISE = "amount_too_precise"  # more than two decimal places
    AMOUNT_TOO_LARGE = "amount_too_large"  # beyond what money can hold
    AMOUNT_CONFIRM_LARGE = "amount_confirm_large"  # a million or more: confirm, never assume
    AMOUNT_CURRENCY = "amount_currency"  # not CNY
    AMOUNT_UNREADABLE = "amount_unreadable"
    CATEGORY_MISSING = "category_missing"
    CATEGORY_UNKNOWN = "category_unknown"  # a word in the category's place that is not configured
    CATEGORY_AMBIGUOUS = "category_ambiguous"
    DATE_MISSING = "date_missing"
    DATE_AMBIGUOUS = "date_ambiguous"  # several dates in one item
    DATE_INVALID = "date_invalid"  # 2月30日
    DATE_FUTURE = "date_future"
    DATE_UNREADABLE = "date_unreadable"


_FIELDS: dict[str, QuestionField] = {"amount": "amount", "category": "category", "date": "spent_on"}

_TEXTS: dict[QuestionCode, tuple[str, str]] = {
    QuestionCode.AMOUNT_MISSING: ("金额是多少？", "What is the amount?"),
    QuestionCode.AMOUNT_AMBIGUOUS: (
        "这一项有多个金额（{words}），是哪一个？",
        "This item has several amounts ({words}); which one is it?",
    ),
    QuestionCode.AMOUNT_NOT_POSITIVE: (
        "金额必须大于零（收到 {words}），实际金额是多少？",
        "The amount must be above zero (got {words}); what is it?",
    ),
    QuestionCode.AMOUNT_TOO_PRECISE: (
        "金额 {words} 超过两位小数，请给出精确到分的金额。",
        "The amount {words} has more than two decimal places; please give it to the cent.",
    ),
    QuestionCode.AMOUNT_TOO_LARGE: (
        "金额 {words} 超出上限，实际金额是多少？",
        "The amount {words} is beyond the limit; what is it?",
    ),
    QuestionCode.AMOUNT_CONFIRM_LARGE: (
        "金额 {words} 很大，确认无误吗？",
        "The amount {words} is very large; is it right?",
    ),
    QuestionCode.AMOUNT_CURRENCY: (
        "只能以人民币报销（收到 {words}），折合人民币是多少？",
        "Claims are in CNY only (got {words}); how much is it in CNY?",
    ),
    QuestionCode.AMOUNT_UNREADABLE: (
        "没看懂金额“{words}”，请输入如 45.50 的金额。",
        "Could not read the amount “{words}”; please write it like 45.50.",
    ),
    QuestionCode.CATEGORY_MISSING: ("这是哪一类费用？", "Which category is this expense?"),
    QuestionCode.CATEGORY_UNKNOWN: (
        "没有“{words}”这个类别，请选择一个类别。",
        "There is no category “{words}”; please choose one.",
    ),
    QuestionCode.CATEGORY_AMBIGUOUS: (
        "这一项可能是{words}，是哪一类？",
        "This item could be {words}; which category is it?",
    ),
    QuestionCode.DATE_MISSING: ("这笔费用是哪天发生的？", "On what date was this spent?"),
    QuestionCode.DATE_AMBIGUOUS: (
        "这一项有多个日期（{words}），是哪一天？",
        "This item has several dates ({words}); which one is it?",
    ),
    QuestionCode.DATE_INVALID: (
        "日期“{words}”不存在，是哪一天？",
        "The date “{words}” does not exist; which day was it?",
    ),
    QuestionCode.DATE_FUTURE: (
        "日期“{words}”还没到，费用是哪天发生的？",
        "The date “{words}” is in the future; when was it spent?",
    ),
    QuestionCode.DATE_UNREADABLE: (
        "没看懂日期“{words}”，请输入如 11月3日 或 2026-11-03 的日期。",
        "Could not read the date “{words}”; please write it like 2026-11-03 or Nov 3.",
    ),
}


@dataclass(frozen=True, slots=True)
class Question:
    """Something the user must answer: ``candidates`` are machine values (amounts as decimal
    strings, ISO dates, category codes) read from the text, for the asker to offer as choices."""

    code: QuestionCode
    zh: str
    en: str
    candidates: tuple[str, ...] = ()

    @property
    def field(self) -> QuestionField:
        return _FIELDS[self.code.value.split("_", 1)[0]]

    def text(self, lang: str = "zh-CN") -> str:
        return self.en if lang.lower().startswith("en") else self.zh


def question(
    code: QuestionCode, words: tuple[str, ...] = (), candidates: tuple[str, ...] = ()
) -> Question:
    """Build a question; ``words`` are shown to the user (as typed), ``candidates`` are values."""
    zh, en = _TEXTS[code]
    return Question(
        code=code,
        zh=zh.format(words="、".join(words)),
        en=en.format(words=", ".join(words)),
        candidates=candidates,
    )


class ParseError(ValueError):
    """Text that cannot be read as what was asked for; ``question`` says what to ask instead."""

    def __init__(self, question: Question) -> None:
        super().__init__(question.en)
        self.question = question

    @property
    def code(self) -> QuestionCode:
        return self.question.code


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


class Source:
    """User text normalised character by character (NFKC: full-width digits and punctuation
    become half-width, ￥ becomes ¥) while remembering where each character came from, so a
    description is cut from what the user typed, with its own punctuation."""

    __slots__ = ("_origin", "original", "text")

    def __init__(self, original: str) -> None:
        chars: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(original):
            normal = _MINUS_SIGNS.get(char) or unicodedata.normalize("NFKC", char)
            chars.append(normal)
            origin.extend([index] * len(normal))
        text = list("".join(chars))
        for at in range(1, len(text) - 1):
            # 打车45，80: a full-width comma between half-width digits separates, never groups.
            if original[origin[at]] == "，" and all(
                original[origin[at + step]] in "0123456789" for step in (-1, 1)
            ):
                text[at] = ";"
        self.original = original
        self.text = "".join(text)
        self._origin = origin

    def cut(self, start: int, end: int) -> str:
        """The original text behind ``text[start:end]``."""
        if start >= end:
            return ""
        return self.original[self._origin[start] : self._origin[end - 1] + 1]


_S = TypeVar("_S", bound=Span)


def mask(text: str, spans: list[Span]) -> str:
    """Replace each span by :data:`MASK` characters, keeping every offset."""
    chars = list(text)
    for span in spans:
        chars[span.start : span.end] = MASK * (span.end - span.start)
    return "".join(chars)


def non_overlapping(spans: list[_S]) -> list[_S]:
    """Earliest first; at the same start the longest wins; later overlapping spans are dropped."""
    chosen: list[_S] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if not chosen or span.start >= chosen[-1].end:
            chosen.append(span)
    return chosen


_WORD_CHAR = re.compile(r"[^\W\d_]", re.UNICODE)


def is_letter(char: str) -> bool:
    """A letter of any script (Latin or CJK); digits, punctuation, spaces and masks are not."""
    return bool(char) and char != MASK and bool(_WORD_CHAR.match(char))


def is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"
