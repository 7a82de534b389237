"""Dates in chat text: 今天, 昨天, 前天, 大前天, 上周五, 周三, 11月3日, 11-03, 11/3, 2026-11-03,
2026年11月3日, today, yesterday, last Friday, Nov 3.

Decisions:

- Weeks start on Monday (GB/T 7408, ISO 8601). ``上周五`` is Friday of the previous calendar
  week, so on Sunday 29 November it is 20 November; ``这周五``/``本周五`` is this week's Friday.
- A bare weekday (``周三``, ``星期三``, ``Wednesday``) is the most recent one on or before today:
  said on a Wednesday it is today. English ``last Friday`` is the most recent Friday strictly
  before today (on Sunday 29 November: 27 November), which is how English speakers use it.
- ``11/3`` and ``11-03`` are month/day, as written in China.
- A date without a year is this year's if that is not after today; last year's if this year's
  does not exist or is in the future and last year's is at most 92 days ago (``12月28日`` said in
  January); otherwise it is asked about (``12月5日`` said on 29 November is in the future).
- A date in the future (``明天``, ``下周一``, ``2026-12-05``) or one that does not exist
  (``2月30日``) is never corrected: it becomes a question.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from handlers.parse_amount import chinese_integer
from handlers.parse_common import (
    CONNECTORS,
    ParseError,
    Question,
    QuestionCode,
    Source,
    Span,
    non_overlapping,
    question,
)

# How far back a year-less date may reach into last year before it has to be asked about.
_LAST_YEAR_WINDOW = timedelta(days=92)

_CN_SMALL = "[一二三四五六七八九十]{1,3}"
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_ALTS = "|".join([*_MONTHS, "sept", *(m[:3] for m in _MONTHS)])
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_ALTS = "|".join([*_DAYS, "tues", "thurs", *(d[:3] for d in _DAYS)])
_RELATIVE = {
    "大前天": -3,
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "昨晚": -1,
    "昨夜": -1,
    "昨儿": -1,
    "今天": 0,
    "今日": 0,
    "今晚": 0,
    "今早": 0,
    "今儿": 0,
    "明天": 1,
    "明日": 1,
    "后天": 2,
    "大后天": 3,
    "the day before yesterday": -2,
    "yesterday": -1,
    "today": 0,
    "tonight": 0,
    "tomorrow": 1,
}
_ZH_WEEKDAY = {**{c: i for i, c in enumerate("一二三四五六")}, "日": 6, "天": 6}


@dataclass(frozen=True, slots=True)
class DateMatch(Span):
    raw: str
    value: date | None
    problem: Question | None = None


def _exact(year: int, month: int, day: int, today: date, raw: str) -> date:
    try:
        value = date(year, month, day)
    except ValueError:
        raise ParseError(question(QuestionCode.DATE_INVALID, (raw,))) from None
    if value > today:
        raise ParseError(question(QuestionCode.DATE_FUTURE, (raw,)))
    return value


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _without_year(month: int, day: int, today: date, raw: str) -> date:
    this_year = _safe_date(today.year, month, day)
    last_year = _safe_date(today.year - 1, month, day)
    if this_year is not None and this_year <= today:
        return this_year
    if last_year is not None and (this_year is None or today - last_year <= _LAST_YEAR_WINDOW):
        return last_year
    if this_year is not None:
        candidates = (last_year.isoformat(),) if last_year else ()
        raise ParseError(question(QuestionCode.DATE_FUTURE, (raw,), candidates))
    raise ParseError(question(QuestionCode.DATE_INVALID, (raw,)))


def _number(text: str) -> int:
    value = int(text) if text.isdigit() else chinese_integer(text)
    return -1 if value is None else value


def _future(value: date, today: date, raw: str) -> date:
    if value > today:
        raise ParseError(question(QuestionCode.DATE_FUTURE, (raw,)))
    return value


def _ymd(found: re.Match[str], today: date, raw: str) -> date | None:
    day = _number(found["d"] or found["d2"])
    return _exact(int(found["y"]), _number(found["m"]), day, today, raw)


def _md(found: re.Match[str], today: date, raw: str) -> date | None:
    month, day = _number(found["m"]), _number(found["d"] or found["d2"])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None  # 45-50 or 13/45: not a date at all
    return _without_year(month, day, today, raw)


def _english(found: re.Match[str], today: date, raw: str) -> date | None:
    name = found["mon"].lower()
    month = next(i for i, m in enumerate(_MONTHS, 1) if m.startswith(name[:3]))
    day = int(found["d"])
    if found["y"]:
        return _exact(int(found["y"]), month, day, today, raw)
    if not 1 <= day <= 31:
        return None
    return _without_year(month, day, today, raw)


def _relative(found: re.Match[str], today: date, raw: str) -> date | None:
    words = " ".join(found["rel"].lower().split())
    return _future(today + timedelta(days=_RELATIVE[words]), today, raw)


def _zh_weekday(found: re.Match[str], today: date, raw: str) -> date | None:
    day = found["d"]
    weekday = int(day) - 1 if day.isdigit() else _ZH_WEEKDAY[day]
    if not 0 <= weekday <= 6:
        return None
    monday = today - timedelta(days=today.weekday())
    which = (found["which"] or "").rstrip("个")
    if not which:
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    weeks = {"上上": -2, "上": -1, "这": 0, "本": 0, "下": 1}[which]
    return _future(monday + timedelta(days=7 * weeks + weekday), today, raw)


def _en_weekday(found: re.Match[str], today: date, raw: str) -> date | None:
    name = found["d"].lower()
    weekday = next(i for i, d in enumerate(_DAYS) if d.startswith(name[:3]))
    which = " ".join((found["which"] or "").lower().split())
    if not which:
        if name not in _DAYS:
            return None  # "sun", "wed", "sat" alone are words, not days
        return today - timedelta(days=(today.weekday() - weekday) % 7)
    if which in ("last", "past", "this past"):
        return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)
    monday = today - timedelta(days=today.weekday())
    weeks = 1 if which == "next" else 0
    return _future(monday + timedelta(days=7 * weeks + weekday), today, raw)


_Resolver = Callable[[re.Match[str], date, str], date | None]
_NOT_WORD = r"(?![a-z])"
_PATTERNS: tuple[tuple[re.Pattern[str], _Resolver], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.VERBOSE), resolver)
    for pattern, resolver in (
        (r"(?<![\d.])(?P<y>\d{4})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?![\d.])", _ymd),
        (r"(?<![\d.])(?P<y>20\d\d)(?P<m>[01]\d)(?P<d>[0-3]\d)(?![\d.])", _ymd),
        (
            rf"(?<!\d)(?P<y>\d{{4}})\s*年\s*(?P<m>\d{{1,2}}|{_CN_SMALL})\s*月\s*"
            rf"(?:(?P<d>\d{{1,2}})(?!\d)\s*[日号]?|(?P<d2>{_CN_SMALL})\s*[日号])",
            _ymd,
        ),
        (
            rf"(?<![\d年])(?P<m>\d{{1,2}}|{_CN_SMALL})\s*月\s*"
            rf"(?:(?P<d>\d{{1,2}})(?![\d.])\s*[日号]?|(?P<d2>{_CN_SMALL})\s*[日号])",
            _md,
        ),
        (r"(?<![\d.,/:\-])(?P<m>\d{1,2})(?P<s>[-/])(?P<d>\d{1,2})(?![\d/\-]|\.\d)", _md),
        (
            rf"(?<![a-z])(?:on\s+)?(?P<mon>{_MONTH_ALTS}){_NOT_WORD}\.?\s*(?P<d>\d{{1,2}})"
            rf"(?:st|nd|rd|th)?(?!\d)(?:,?\s*(?P<y>(?:19|20)\d\d)(?!\d))?",
            _english,
        ),
        (
            rf"(?<![\d.])(?:on\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s*(?:of\s+)?"
            rf"(?P<mon>{_MONTH_ALTS}){_NOT_WORD}\.?(?:,?\s*(?P<y>(?:19|20)\d\d)(?!\d))?",
            _english,
        ),
        (
            "(?P<rel>"
            + "|".join(sorted((k for k in _RELATIVE if not k.isascii()), key=len)[::-1])
            + ")",
            _relative,
        ),
        (
            r"(?<![a-z])(?:on\s+)?(?P<rel>the\s+day\s+before\s+yesterday|yesterday|today"
            r"|tonight|tomorrow)(?![a-z])",
            _relative,
        ),
        (
            r"(?:(?P<which>上上个?|上个?|这个?|本|下个?)\s*)?(?:周|星期|礼拜)(?P<d>[一二三四五六日天1-7])",
            _zh_weekday,
        ),
        (
            rf"(?<![a-z])(?:on\s+)?(?:(?P<which>this\s+past|last|past|this|next)\s+)?"
            rf"(?P<d>{_DAY_ALTS}){_NOT_WORD}",
            _en_weekday,
        ),
    )
)


def _resolve(
    src: Source, found: re.Match[str], resolver: _Resolver, today: date
) -> DateMatch | None:
    raw = src.cut(found.start(), found.end()).strip()
    try:
        value = resolver(found, today, raw)
    except ParseError as error:
        return DateMatch(found.start(), found.end(), raw, None, error.question)
    if value is None:
        return None
    return DateMatch(found.start(), found.end(), raw, value)


def find_dates(src: Source, text: str, today: date) -> list[DateMatch]:
    """Every date in ``text`` (``src.text``, possibly with spans masked), earliest first."""
    found: list[DateMatch] = []
    for pattern, resolver in _PATTERNS:
        for candidate in pattern.finditer(text):
            match = _resolve(src, candidate, resolver, today)
            if match is not None:
                found.append(match)
    return non_overlapping(found)


def parse_date(text: str, today: date) -> date:
    """Read ``text`` as exactly one date relative to ``today``.

    Raises :class:`ParseError` for garbage, a date that does not exist, a date in the future, or
    more than one date.
    """
    src = Source(text)
    matches = find_dates(src, src.text, today)
    if len(matches) == 1:
        only = matches[0]
        if not (src.text[: only.start] + src.text[only.end :]).strip(CONNECTORS):
            if only.problem is not None:
                raise ParseError(only.problem)
            if only.value is not None:
                return only.value
    raise ParseError(question(QuestionCode.DATE_UNREADABLE, (text.strip()[:40],)))
