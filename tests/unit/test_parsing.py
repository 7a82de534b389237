"""The free-text parser: a table of real phrasings with their full expected reading, then tables
for the amount, date and command helpers, then properties over arbitrary text."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config_model import CategoryConfig
from handlers.parsing import (
    ParsedItem,
    parse_claim_text,
)

TODAY = date(2026, 11, 29)  # a Sunday
CATEGORIES = (
    CategoryConfig("taxi", "交通-打车", ("打车", "出租车", "滴滴", "taxi", "uber")),
    CategoryConfig("meal", "餐费", ("午餐", "晚餐", "早餐", "餐费", "lunch", "dinner", "meal")),
    CategoryConfig("travel", "差旅", ("机票", "火车", "高铁", "酒店", "hotel", "flight", "train")),
    CategoryConfig("entertainment", "业务招待", ("招待", "请客", "宴请", "entertainment")),
    CategoryConfig("office", "办公用品", ("办公", "文具", "office supplies")),
)

# Dates relative to TODAY, by name.
D0, D1, D2, D3 = "2026-11-29", "2026-11-28", "2026-11-27", "2026-11-26"
WED, LAST_WEEK_FRI, NOV3 = "2026-11-25", "2026-11-20", "2026-11-03"

Shape = tuple[str | None, str | None, str | None, str, tuple[str, ...]]


def item(
    category: str | None,
    amount: str | None,
    spent_on: str | None,
    description: str = "",
    *questions: str,
) -> Shape:
    """An expected item; a question is its code, or ``code:candidate|candidate``."""
    return (category, amount, spent_on, description, questions)


def shape(parsed: ParsedItem) -> Shape:
    return (
        parsed.category,
        None if parsed.amount is None else str(parsed.amount),
        None if parsed.spent_on is None else parsed.spent_on.isoformat(),
        parsed.description,
        tuple(
            q.code.value + (":" + "|".join(q.candidates) if q.candidates else "")
            for q in parsed.questions
        ),
    )


NO_DATE = "date_missing"
ROWS: list[tuple[str, tuple[Shape, ...]]] = [
    # --- the issue's own examples and the everyday Chinese forms
    ("报销 打车 45.5 昨天 去客户现场", (item("taxi", "45.50", D1, "去客户现场"),)),
    (
        "打车 45，午餐 80",
        (item("taxi", "45.00", None, "", NO_DATE), item("meal", "80.00", None, "", NO_DATE)),
    ),
    ("报销打车45", (item("taxi", "45.00", None, "", NO_DATE),)),
    ("报销：打车 45 今天", (item("taxi", "45.00", D0),)),
    ("我要报销 午餐 68 今天 部门聚餐", (item("meal", "68.00", D0, "部门聚餐"),)),
    ("打车 ¥45.50 前天", (item("taxi", "45.50", D2),)),
    ("午餐 ￥45.5 今天", (item("meal", "45.50", D0),)),
    ("滴滴 45元 昨天", (item("taxi", "45.00", D1),)),
    ("出租车 45块 大前天", (item("taxi", "45.00", D3),)),
    ("酒店 1,234.50 11月3日 北京出差", (item("travel", "1234.50", NOV3, "北京出差"),)),
    ("机票 1.2万 2026-11-03", (item("travel", "12000.00", NOV3),)),
    ("午餐 四十五元 今天", (item("meal", "45.00", D0),)),
    ("晚餐 一百二十块五 昨天", (item("meal", "120.50", D1),)),
    (
        "招待 三千二百元 上周五 客户王总",
        (item("entertainment", "3200.00", LAST_WEEK_FRI, "客户王总"),),
    ),
    ("文具 两百 周三", (item("office", "200.00", WED),)),
    ("文具 两百 星期三", (item("office", "200.00", WED),)),
    ("高铁 553 11-03 上海到北京", (item("travel", "553.00", NOV3, "上海到北京"),)),
    ("高铁 553 11/3", (item("travel", "553.00", NOV3),)),
    ("2026年11月3日 高铁 553 上海到北京", (item("travel", "553.00", NOV3, "上海到北京"),)),
    ("高铁 553.5 十一月三日", (item("travel", "553.50", NOV3),)),
    ("酒店 580 11月3号 住了一晚", (item("travel", "580.00", NOV3, "住了一晚"),)),
    ("打车 45 2026/11/3", (item("taxi", "45.00", NOV3),)),
    ("打车 45 2026.11.03", (item("taxi", "45.00", NOV3),)),
    ("打车 45 20261103", (item("taxi", "45.00", NOV3),)),
    ("午餐八十 昨天", (item("meal", "80.00", D1),)),
    ("打车 五十 昨天", (item("taxi", "50.00", D1),)),
    ("午餐 45块5 昨天", (item("meal", "45.50", D1),)),
    ("打车 45元5角 昨天", (item("taxi", "45.50", D1),)),
    ("打车 三十五块五毛 昨天", (item("taxi", "35.50", D1),)),
    ("打车 四十五点五 昨天", (item("taxi", "45.50", D1),)),
    ("出租车 一百零八元 上周五", (item("taxi", "108.00", LAST_WEEK_FRI),)),
    ("宴请 一万二 昨天 年会", (item("entertainment", "12000.00", D1, "年会"),)),
    ("宴请 两千五百块 昨天", (item("entertainment", "2500.00", D1),)),
    ("招待 壹仟贰佰元整 昨天", (item("entertainment", "1200.00", D1),)),
    ("办公 3千 昨天 采购打印纸", (item("office", "3000.00", D1, "采购打印纸"),)),
    ("打车 45 昨晚 加班回家", (item("taxi", "45.00", D1, "加班回家"),)),
    ("打车 45 星期天", (item("taxi", "45.00", D0),)),
    ("打车 45 周日", (item("taxi", "45.00", D0),)),
    ("打车 45 上上周一", (item("taxi", "45.00", "2026-11-09"),)),
    ("午餐 80 这周五", (item("meal", "80.00", D2),)),
    ("午餐 80 本周一", (item("meal", "80.00", "2026-11-23"),)),
    ("打车 45 上个星期五", (item("taxi", "45.00", LAST_WEEK_FRI),)),
    ("打车 45 礼拜三", (item("taxi", "45.00", WED),)),
    ("报销 午餐 80 周日 加班", (item("meal", "80.00", D0, "加班"),)),
    ("打车 45 1月5日", (item("taxi", "45.00", "2026-01-05"),)),
    ("打车 45 2025-11-03", (item("taxi", "45.00", "2025-11-03"),)),
    ("打车 ４５．５ 昨天", (item("taxi", "45.50", D1),)),
    (
        "打车 ４５．５，午餐 ８０ 昨天",
        (item("taxi", "45.50", None, "", NO_DATE), item("meal", "80.00", D1)),
    ),
    (
        "打车 45；午餐 80；晚餐 120 昨天",
        (
            item("taxi", "45.00", None, "", NO_DATE),
            item("meal", "80.00", None, "", NO_DATE),
            item("meal", "120.00", D1),
        ),
    ),
    (
        "打车 45、午餐 80 昨天",
        (item("taxi", "45.00", None, "", NO_DATE), item("meal", "80.00", D1)),
    ),
    ("昨天 打车45，午餐80", (item("taxi", "45.00", D1), item("meal", "80.00", D1))),
    ("打车45 午餐80 昨天", (item("taxi", "45.00", None, "", NO_DATE), item("meal", "80.00", D1))),
    ("打车 45 昨天\n午餐 80 今天", (item("taxi", "45.00", D1), item("meal", "80.00", D0))),
    ("打车 45 昨天 去客户现场，回公司", (item("taxi", "45.00", D1, "去客户现场，回公司"),)),
    ("打车45，昨天，去机场", (item("taxi", "45.00", D1, "去机场"),)),
    ("去客户现场，打车 45 昨天", (item("taxi", "45.00", D1, "去客户现场"),)),
    ("滴滴打车 45 昨天", (item("taxi", "45.00", D1),)),
    ("打车去火车站 30 昨天", (item("taxi", "30.00", D1, "打车去火车站"),)),
    ("请客户吃饭 300 昨天", (item("entertainment", "300.00", D1, "请客户吃饭"),)),
    ("招待 1500 昨天 客户3位", (item("entertainment", "1500.00", D1, "客户3位"),)),
    ("打车 45 3人 昨天", (item("taxi", "45.00", D1, "3人"),)),
    ("打车 45 去3号楼 昨天", (item("taxi", "45.00", D1, "去3号楼"),)),
    ("午餐 80 12:30 昨天", (item("meal", "80.00", D1, "12:30"),)),
    ("打车 45 CA1234航班 昨天", (item("taxi", "45.00", D1, "CA1234航班"),)),
    ("午餐 RMB80 今天", (item("meal", "80.00", D0),)),
    ("午餐 80 CNY 今天", (item("meal", "80.00", D0),)),
    ("午餐 人民币80元 今天", (item("meal", "80.00", D0),)),
    ("打车花了45 昨天", (item("taxi", "45.00", D1, "打车"),)),
    # --- English and mixed
    ("/claim taxi 45 yesterday to the airport", (item("taxi", "45.00", D1, "to the airport"),)),
    ("new claim: lunch 80 with client today", (item("meal", "80.00", D0, "with client"),)),
    ("Claim: Taxi 45.5 yesterday", (item("taxi", "45.50", D1),)),
    (
        "taxi 45; lunch 80",
        (item("taxi", "45.00", None, "", NO_DATE), item("meal", "80.00", None, "", NO_DATE)),
    ),
    (
        "taxi 45 lunch 80 yesterday",
        (item("taxi", "45.00", None, "", NO_DATE), item("meal", "80.00", D1)),
    ),
    (
        "dinner 300 yesterday, taxi 45 today",
        (item("meal", "300.00", D1), item("taxi", "45.00", D0)),
    ),
    (
        "taxi 45 + lunch 80 yesterday",
        (item("taxi", "45.00", None, "", NO_DATE), item("meal", "80.00", D1)),
    ),
    ("yesterday: taxi 45 and lunch 80", (item("taxi", "45.00", D1), item("meal", "80.00", D1))),
    ("taxi 45 last Friday", (item("taxi", "45.00", D2),)),
    ("dinner 200 last sunday", (item("meal", "200.00", "2026-11-22"),)),
    ("lunch 80 Friday", (item("meal", "80.00", D2),)),
    ("Taxi 45 Nov 3", (item("taxi", "45.00", NOV3),)),
    ("lunch 80 on Nov 3 with Alice", (item("meal", "80.00", NOV3, "with Alice"),)),
    ("3 Nov taxi 45", (item("taxi", "45.00", NOV3),)),
    ("hotel 580 November 3rd", (item("travel", "580.00", NOV3),)),
    ("taxi 45 the day before yesterday", (item("taxi", "45.00", D2),)),
    ("Uber 45 yesterday", (item("taxi", "45.00", D1),)),
    ("UBER 45 YESTERDAY", (item("taxi", "45.00", D1),)),
    (
        "lunch with client and team 300 yesterday",
        (item("meal", "300.00", D1, "with client and team"),),
    ),
    (
        "flight 1,280 Nov 2 Beijing to Shanghai",
        (item("travel", "1280.00", "2026-11-02", "Beijing to Shanghai"),),
    ),
    (
        "hotel 580 Nov 3 2026, flight 1200 Nov 2",
        (
            item("travel", "580.00", NOV3),
            item("travel", "1200.00", "2026-11-02"),
        ),
    ),
    ("hotel 2 nights 1160 yesterday", (item("travel", "1160.00", D1, "2 nights"),)),
    ("office supplies 35.8 today", (item("office", "35.80", D0),)),
    ("flights 1200 yesterday", (item("travel", "1200.00", D1),)),
    ("taxi 45 yuan yesterday", (item("taxi", "45.00", D1),)),
    ("打车 45.5 昨天 taxi", (item("taxi", "45.50", D1),)),
    ("打车 45 yesterday", (item("taxi", "45.00", D1),)),
    # --- what must be asked rather than guessed
    ("打车 45 50 昨天", (item("taxi", None, D1, "", "amount_ambiguous:45|50"),)),
    ("打车 45 11.3", (item("taxi", None, None, "", "amount_ambiguous:45|11.3", NO_DATE),)),
    ("打车 1万2 昨天", (item("taxi", None, D1, "", "amount_ambiguous:10000|2"),)),
    ("打车 45块50 昨天", (item("taxi", None, D1, "", "amount_ambiguous:45|50"),)),
    ("打车 0 昨天", (item("taxi", None, D1, "", "amount_not_positive"),)),
    ("打车 -45 昨天", (item("taxi", None, D1, "", "amount_not_positive"),)),
    ("打车 负45元 昨天", (item("taxi", None, D1, "", "amount_not_positive"),)),
    ("打车 45.555 昨天", (item("taxi", None, D1, "", "amount_too_precise:45.555"),)),
    ("打车 $45 昨天", (item("taxi", None, D1, "", "amount_currency"),)),
    ("taxi 45 USD yesterday", (item("taxi", None, D1, "", "amount_currency"),)),
    ("午餐 80美元 昨天", (item("meal", None, D1, "", "amount_currency"),)),
    ("打车 2000000 昨天", (item("taxi", None, D1, "", "amount_confirm_large:2000000.00"),)),
    ("打车 昨天 去机场", (item("taxi", None, D1, "去机场", "amount_missing"),)),
    ("打车 45 明天", (item("taxi", "45.00", None, "", "date_future"),)),
    ("taxi 45 tomorrow", (item("taxi", "45.00", None, "", "date_future"),)),
    ("打车 45 下周一", (item("taxi", "45.00", None, "", "date_future"),)),
    ("打车 45 2026-12-05", (item("taxi", "45.00", None, "", "date_future"),)),
    ("打车 45 12月5日", (item("taxi", "45.00", None, "", "date_future:2025-12-05"),)),
    ("打车 45 2月30日", (item("taxi", "45.00", None, "", "date_invalid"),)),
    ("打车 45 11-31", (item("taxi", "45.00", None, "", "date_invalid"),)),
    ("打车 45 2026-02-29", (item("taxi", "45.00", None, "", "date_invalid"),)),
    (
        "打车 45 昨天 11/3",
        (item("taxi", "45.00", None, "", "date_ambiguous:2026-11-28|2026-11-03"),),
    ),
    ("打车 45 昨天 11月28日", (item("taxi", "45.00", D1),)),
    ("停车费 20 昨天", (item(None, "20.00", D1, "停车费", "category_unknown"),)),
    ("parking 20 yesterday", (item(None, "20.00", D1, "parking", "category_unknown"),)),
    ("的士 45 昨天", (item(None, "45.00", D1, "的士", "category_unknown"),)),
    ("45 昨天", (item(None, "45.00", D1, "", "category_missing"),)),
    (
        "午餐 请客户 300 昨天",
        (item(None, "300.00", D1, "请客户", "category_ambiguous:meal|entertainment"),),
    ),
    (
        "打车 45，80",
        (
            item("taxi", "45.00", None, "", NO_DATE),
            item(None, "80.00", None, "", "category_missing", NO_DATE),
        ),
    ),
    (
        "打车45，800 昨天",
        (
            item("taxi", "45.00", None, "", NO_DATE),
            item(None, "800.00", D1, "", "category_missing"),
        ),
    ),
    (
        "打车，午餐 80 昨天",
        (
            item("taxi", None, None, "", "amount_missing", NO_DATE),
            item("meal", "80.00", D1),
        ),
    ),
    ("打车 45 12:30", (item("taxi", "45.00", None, "12:30", NO_DATE),)),
    ("打车 45 BX-2026-000123 昨天", (item("taxi", "45.00", D1, "BX-2026-000123"),)),
    # --- not a claim at all
    ("你好", ()),
    ("报销", ()),
    ("thanks!", ()),
]


def _row_id(text: str) -> str:
    return text.replace("\n", "⏎")


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[_row_id(t) for t, _ in ROWS])
def test_claim_phrasings(text: str, expected: tuple[Shape, ...]) -> None:
    result = parse_claim_text(text, CATEGORIES, TODAY)
    assert tuple(shape(i) for i in result.items) == expected


def test_the_table_is_big_enough() -> None:
    assert len(ROWS) >= 80
