"""One-line claims in Chinese or English, read into items without any I/O:
"报销 打车 45.5 昨天 去客户现场", "打车 45，午餐 80", "taxi 45; lunch 80 yesterday".

How a message is read:

1. An optional leading trigger ("报销", "/claim", "new claim", "claim") is set aside.
2. Dates, then amounts (``handlers.parse_date``, ``handlers.parse_amount``), then the configured
   category names, codes and aliases (longest first; Latin ones case-insensitive, whole words,
   plural allowed) are found. Claim ids and clock times are never read as amounts or dates.
3. The message is cut at list separators (， ; 、 。 newline, "and", "+", 还有, 另外) into chunks.
   A chunk joins the item before it unless it brings a second category or a second amount, so
   "打车 45 昨天，去客户现场" is one item and "打车 45，午餐 80" two. Without separators, a chunk
   that alternates cleanly between categories and amounts ("taxi 45 lunch 80") is split too;
   anything else with two amounts or two categories stays one item and is asked about.
4. A date that opens a message with several items belongs to all of them ("昨天 打车45，午餐80").
5. The description is what remains, trimmed of connecting punctuation; a category word is removed
   from it only when it stands as a word of its own (so "请客户吃饭" keeps its text).

Nothing is guessed: a missing, doubled or doubtful field is left empty and a question explains
what to ask. Text with no amount, category or date at all yields no items.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import TypeVar

from bot.config_model import CategoryConfig
from handlers.parse_amount import (
    LARGE_AMOUNT,
    AmountMatch,
    check_amount,
    find_amounts,
    parse_amount,
)
from handlers.parse_command import CLAIM_ID, Command, CommandKind, EditField, detect_command
from handlers.parse_common import (
    CONNECTORS,
    ParseError,
    Question,
    QuestionCode,
    Source,
    Span,
    is_cjk,
    is_letter,
    mask,
    non_overlapping,
    question,
)
from handlers.parse_date import DateMatch, find_dates, parse_date

__all__ = [
    "Command",
    "CommandKind",
    "EditField",
    "ParseError",
    "ParseResult",
    "ParsedItem",
    "Question",
    "QuestionCode",
    "detect_command",
    "parse_amount",
    "parse_claim_text",
    "parse_date",
]

_TRIGGER = re.compile(r"\s*(?:/claim|new\s+claim|claim|我要报销|报销)(?![a-z])\s*:?", re.I)
_NOISE = re.compile(rf"{CLAIM_ID}|(?<!\d)\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?!\d)", re.I)
_SEPARATOR = re.compile(r"[;,\n、。+]|(?<!\s)\s+(?:and|plus)\s+|以及|还有|另外", re.I)
# Words that only joined a description to what was taken out of it ("on Nov 3", "花了45",
# "日期：昨天"), and labels before the description itself ("事由：拜访客户").
_EDGE_WORDS = r"on|for|at|date|amount|category"
_EDGE_CJK = r"花了|花费|一共|总共|合计|共计|金额|日期|时间|类别|类型"
_LABELS = r"事由|说明|备注|描述|用途|purpose|note|description|reason|memo"
_LEAD = re.compile(rf"^(?:(?:{_EDGE_WORDS})(?:\s+|$)|{_EDGE_CJK}|(?:{_LABELS})\s*[:：])", re.I)
_TAIL = re.compile(rf"(?:(?:^|\s+)(?:{_EDGE_WORDS})|{_EDGE_CJK}|的)$", re.I)
_MAX_UNKNOWN_WORD = 10


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One expense read from a message. A field is None exactly when a question about it is
    open (missing, doubled, doubtful); ``questions`` come in order: category, amount, date."""

    category: str | None
    amount: Decimal | None
    spent_on: date | None
    description: str
    questions: tuple[Question, ...] = ()
    source: str = ""

    @property
    def complete(self) -> bool:
        return not self.questions and None not in (self.category, self.amount, self.spent_on)


@dataclass(frozen=True, slots=True)
class ParseResult:
    items: tuple[ParsedItem, ...]
    lang: str  # "zh-CN"/"en-US": the text's script; lang_hint decides mixed or digit-only text
    triggered: bool  # the message opened with 报销 / claim

    @property
    def questions(self) -> tuple[tuple[int, Question], ...]:
        """Every open question with the index of its item."""
        return tuple((i, q) for i, item in enumerate(self.items) for q in item.questions)


@dataclass(frozen=True, slots=True)
class CategoryMatch(Span):
    code: str
    name: str


_T = TypeVar("_T", bound=Span)


def _slice(spans: list[_T], start: int, end: int) -> list[_T]:
    first = bisect_left(spans, start, key=lambda s: s.start)
    return spans[first : bisect_left(spans, end, key=lambda s: s.start)]


@dataclass(frozen=True, slots=True)
class _Found:
    dates: list[DateMatch]
    amounts: list[AmountMatch]
    categories: list[CategoryMatch]

    def within(self, start: int, end: int) -> _Found:
        """The findings that begin in ``[start, end)`` (each list is in text order)."""
        return _Found(
            _slice(self.dates, start, end),
            _slice(self.amounts, start, end),
            _slice(self.categories, start, end),
        )

    @property
    def anchors(self) -> list[Span]:
        """Amounts and categories in text order: the parts that make an item an item."""
        return sorted([*self.amounts, *self.categories], key=lambda s: s.start)


def _alias_pattern(alias: str) -> re.Pattern[str]:
    if alias.isascii():
        words = r"\s+".join(re.escape(w) for w in alias.split())
        return re.compile(rf"(?<![a-z]){words}(?:e?s)?(?![a-z])", re.IGNORECASE)
    return re.compile(re.escape(alias), re.IGNORECASE)


def find_categories(text: str, categories: Sequence[CategoryConfig]) -> list[CategoryMatch]:
    """Configured names, codes and aliases in ``text``; the longest wins where they overlap."""
    found: list[CategoryMatch] = []
    for category in categories:
        for alias in {category.name, category.code, *category.aliases}:
            if not alias.strip():
                continue
            for hit in _alias_pattern(alias.strip()).finditer(text):
                if text.startswith("站", hit.end()):
                    continue  # 火车站, 高铁站: a place to go to, not what was bought
                found.append(CategoryMatch(hit.start(), hit.end(), category.code, category.name))
    return non_overlapping(found)


def _language(text: str, hint: str | None) -> str:
    """The script the text is written in; the hint decides mixed or script-less text ("45")."""
    has_cjk = any(is_cjk(c) for c in text)
    has_latin = any(c.isascii() and c.isalpha() for c in text)
    if has_cjk != has_latin:
        return "zh-CN" if has_cjk else "en-US"
    return "en-US" if hint is not None and hint.lower().startswith("en") else "zh-CN"


def _chunks(scan: str, start: int) -> list[tuple[int, int]]:
    """The spans between list separators, from ``start`` on (masked findings never separate)."""
    spans: list[tuple[int, int]] = []
    for separator in _SEPARATOR.finditer(scan, start):
        spans.append((start, separator.start()))
        start = separator.end()
    spans.append((start, len(scan)))
    return spans


def _alternating(found: _Found) -> bool:
    anchors = found.anchors
    kinds = [isinstance(a, AmountMatch) for a in anchors]
    return len(found.amounts) == len(found.categories) >= 2 and all(
        kinds[i] != kinds[i + 1] for i in range(len(kinds) - 1)
    )


def _split_chunk(found: _Found, start: int, end: int) -> list[tuple[int, int]]:
    """Cut "taxi 45 lunch 80" before each category/amount pair after the first."""
    inside = found.within(start, end)
    if not _alternating(inside):
        return [(start, end)]
    cuts = [a.start for a in inside.anchors[2::2]]
    bounds = [start, *cuts, end]
    return list(pairwise(bounds))


def _groups(found: _Found, scan: str, start: int) -> list[tuple[int, int]]:
    """Chunks joined into items: a chunk starts a new item only when it brings a second amount
    or a second category."""
    groups: list[tuple[int, int]] = []
    for chunk_start, chunk_end in _chunks(scan, start):
        for piece_start, piece_end in _split_chunk(found, chunk_start, chunk_end):
            piece = found.within(piece_start, piece_end)
            if groups:
                current = found.within(*groups[-1])
                clash = (piece.amounts and current.amounts) or (
                    piece.categories and current.categories
                )
                if not clash:
                    groups[-1] = (groups[-1][0], piece_end)
                    continue
            groups.append((piece_start, piece_end))
    return groups


def _shared_date(found: _Found, groups: list[tuple[int, int]]) -> list[DateMatch]:
    """A date that opens a message of several items, before any amount or category."""
    if len(groups) < 2 or not found.dates:
        return []
    first = found.dates[0]
    anchors = found.anchors
    if anchors and anchors[0].start < first.start:
        return []
    return [first]


def _category(found: _Found, unknown_word: str) -> tuple[str | None, list[Question]]:
    names = {m.code: m.name for m in found.categories}
    if len(names) == 1:
        return next(iter(names)), []
    if names:
        codes = tuple(names)
        return None, [question(QuestionCode.CATEGORY_AMBIGUOUS, tuple(names.values()), codes)]
    if unknown_word:
        return None, [question(QuestionCode.CATEGORY_UNKNOWN, (unknown_word,))]
    return None, [question(QuestionCode.CATEGORY_MISSING)]


def _amount(amounts: list[AmountMatch]) -> tuple[Decimal | None, list[Question]]:
    if not amounts:
        return None, [question(QuestionCode.AMOUNT_MISSING)]
    if len(amounts) > 1:
        words = tuple(m.raw for m in amounts)
        values = tuple(str(m.value) for m in amounts if not (m.foreign or m.negative))
        return None, [question(QuestionCode.AMOUNT_AMBIGUOUS, words, values)]
    try:
        value = check_amount(amounts[0])
    except ParseError as error:
        return None, [error.question]
    if value >= LARGE_AMOUNT:
        confirm = question(QuestionCode.AMOUNT_CONFIRM_LARGE, (amounts[0].raw,), (str(value),))
        return None, [confirm]
    return value, []


def _date(dates: list[DateMatch]) -> tuple[date | None, list[Question]]:
    if not dates:
        return None, [question(QuestionCode.DATE_MISSING)]
    values = {m.value for m in dates}
    if len(values) > 1 or (len(dates) > 1 and None in values):
        words = tuple(m.raw for m in dates)
        readable = tuple(dict.fromkeys(m.value.isoformat() for m in dates if m.value))
        return None, [question(QuestionCode.DATE_AMBIGUOUS, words, readable)]
    if dates[0].problem is not None:
        return None, [dates[0].problem]
    return dates[0].value, []


_TOKEN = re.compile(r"[^\s,;:、。.!?()\[\]<>\"'/|\ue000]+")


def _unknown_word(src: Source, scan: str, found: _Found, bounds: tuple[int, int]) -> str:
    """The word standing where a category would ("停车费 20", "parking 20"), if any."""
    end = found.amounts[0].start if found.amounts else bounds[1]
    for token in _TOKEN.finditer(scan, bounds[0], end):
        if any(is_letter(c) for c in token[0]):
            word = src.cut(token.start(), token.end())
            return word if len(word) <= _MAX_UNKNOWN_WORD else ""
    return ""


def _standalone(work: str, span: Span, taken: set[int], bounds: tuple[int, int]) -> bool:
    """Whether ``span`` stands as a word: no letter glued to it that is not itself taken."""

    def free(index: int) -> bool:
        inside = bounds[0] <= index < bounds[1]
        return not inside or index in taken or work[index] == "的" or not is_letter(work[index])

    return free(span.start - 1) and free(span.end)


def _trim(piece: str) -> str:
    """Strip connecting punctuation and words left dangling once the findings are cut out."""
    while True:
        before = piece
        piece = _TAIL.sub("", _LEAD.sub("", piece.strip(CONNECTORS), count=1)).strip(CONNECTORS)
        if piece == before:
            return piece


def _description(src: Source, found: _Found, removed: list[Span], bounds: tuple[int, int]) -> str:
    """What the user wrote besides the findings, in their own characters."""
    taken = {i for s in [*removed, *found.categories] for i in range(s.start, s.end)}
    spans = [*removed]
    spans += [c for c in found.categories if _standalone(src.text, c, taken, bounds)]
    pieces: list[str] = []
    cursor = bounds[0]
    for span in sorted(spans, key=lambda s: s.start):
        pieces.append(src.cut(cursor, max(cursor, span.start)))
        cursor = max(cursor, span.end)
    pieces.append(src.cut(cursor, bounds[1]))
    return " ".join(t for t in (_trim(" ".join(p.split())) for p in pieces) if t)


@dataclass(frozen=True, slots=True)
class _Message:
    src: Source
    scan: str  # the text with the trigger, noise, dates and amounts masked
    found: _Found
    shared_dates: list[DateMatch]


def _item(message: _Message, bounds: tuple[int, int]) -> ParsedItem:
    found = message.found.within(*bounds)
    dates = found.dates or message.shared_dates
    category, category_questions = _category(
        found, _unknown_word(message.src, message.scan, found, bounds)
    )
    amount, amount_questions = _amount(found.amounts)
    spent_on, date_questions = _date(dates)
    removed: list[Span] = [*found.dates, *found.amounts]
    return ParsedItem(
        category=category,
        amount=amount,
        spent_on=spent_on,
        description=_description(message.src, found, removed, bounds),
        questions=(*category_questions, *amount_questions, *date_questions),
        source=message.src.cut(*bounds).strip(CONNECTORS),
    )


def parse_claim_text(
    text: str,
    categories: Sequence[CategoryConfig],
    today: date,
    lang_hint: str | None = None,
) -> ParseResult:
    """Read a one-line claim (or several items in one message) relative to ``today``.

    Never raises for any text; what cannot be read with certainty is in each item's questions.
    """
    src = Source(text)
    trigger = _TRIGGER.match(src.text)
    start = trigger.end() if trigger else 0
    noise = [Span(m.start(), m.end()) for m in _NOISE.finditer(src.text)]
    scan = mask(src.text, [Span(0, start), *noise])
    dates = find_dates(src, scan, today)
    scan = mask(scan, list(dates))
    amounts = find_amounts(src, scan)
    scan = mask(scan, list(amounts))
    found = _Found(dates, amounts, find_categories(scan, categories))
    lang = _language(text, lang_hint)
    if not (found.dates or found.amounts or found.categories):
        return ParseResult((), lang, trigger is not None)
    groups = _groups(found, mask(scan, list(found.categories)), start)
    message = _Message(src, scan, found, _shared_date(found, groups))
    items = tuple(_item(message, bounds) for bounds in groups)
    return ParseResult(items, lang, trigger is not None)
