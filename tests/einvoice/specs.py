"""Fictional invoices (示例 names, generated credit codes) that the fixture generators render.

No real person's or company's data: names are 示例…, credit codes are built here with a valid
GB 32100 check character, numbers follow the year/province pattern of real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from bot.config_checks import uscc_check_char
from bot.einvoice import InvoiceKind
from storage.money import capital_amount


def uscc(first17: str) -> str:
    """A credit code with a valid check character."""
    return first17 + uscc_check_char(first17)


COMPANY_NAME = "示例科技有限公司"
COMPANY_ID = uscc("91310000MA1FL0000")
SELLER_ID = uscc("91110108MA01ABCD1")
OTHER_BUYER_ID = uscc("91440300MA5XYW123")


@dataclass(frozen=True)
class Line:
    name: str
    amount: Decimal
    rate: str  # as printed: "6%", "免税"
    tax: Decimal
    unit: str = "次"
    quantity: str = "1"


@dataclass(frozen=True)
class Spec:
    """One fictional invoice; totals are computed from the lines unless given."""

    name: str
    kind: InvoiceKind
    number: str
    issued: date
    lines: tuple[Line, ...] = ()
    code: str = ""
    check_code: str = ""
    buyer_name: str = COMPANY_NAME
    buyer_id: str = COMPANY_ID
    seller_name: str = "示例餐饮管理有限公司"
    seller_id: str = SELLER_ID
    fixed_total: Decimal | None = None  # tickets: total incl. tax
    fixed_tax: Decimal | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        if self.fixed_total is not None and self.fixed_tax is not None:
            return self.fixed_total - self.fixed_tax
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        if self.fixed_tax is not None:
            return self.fixed_tax
        return sum((line.tax for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax

    @property
    def words(self) -> str:
        """The 大写 as invoices print it: 圆, and 负数 for red-letter ones."""
        return capital_amount(self.total).replace("元", "圆")

    @property
    def digital(self) -> bool:
        return self.kind.is_digital

    @property
    def qr_type(self) -> str:
        return {
            InvoiceKind.DIGITAL_NORMAL: "32",
            InvoiceKind.DIGITAL_SPECIAL: "31",
            InvoiceKind.E_NORMAL: "10",
            InvoiceKind.E_SPECIAL: "08",
            InvoiceKind.RAILWAY: "51",
            InvoiceKind.AIR: "61",
        }[self.kind]

    @property
    def qr_payload(self) -> str:
        day = self.issued.strftime("%Y%m%d")
        if self.digital:
            return f"01,{self.qr_type},,{self.number},{self.total},{day},,A1B2"
        fields = (self.qr_type, self.code, self.number, self.amount, day, self.check_code)
        return "01," + ",".join(map(str, fields)) + ",E400,"

    @property
    def title(self) -> str:
        return {
            InvoiceKind.DIGITAL_NORMAL: "电子发票（普通发票）",
            InvoiceKind.DIGITAL_SPECIAL: "电子发票（增值税专用发票）",
            InvoiceKind.E_NORMAL: "上海增值税电子普通发票",
            InvoiceKind.E_SPECIAL: "上海增值税电子专用发票",
            InvoiceKind.RAILWAY: "电子发票（铁路电子客票）",
            InvoiceKind.AIR: "电子发票（航空运输电子客票行程单）",
        }[self.kind]


D = Decimal
MEAL = Line("*餐饮服务*餐费", D("100.00"), "6%", D("6.00"))

DIGITAL_NORMAL = Spec(
    "digital_normal", InvoiceKind.DIGITAL_NORMAL, "24312000000000000012", date(2024, 1, 15), (MEAL,)
)
DIGITAL_SPECIAL = Spec(
    "digital_special",
    InvoiceKind.DIGITAL_SPECIAL,
    "25112000000000000345",
    date(2025, 3, 2),
    (
        Line("*信息技术服务*软件服务费", D("1000.00"), "6%", D("60.00")),
        Line("*纸制品*打印纸", D("200.00"), "13%", D("26.00"), "箱", "2"),
    ),
    seller_name="示例信息技术有限公司",
)
RED_LETTER = Spec(
    "red_letter",
    InvoiceKind.DIGITAL_NORMAL,
    "24312000000000000099",
    date(2024, 2, 1),
    (Line("*餐饮服务*餐费", D("-100.00"), "6%", D("-6.00")),),
)
TAX_FREE = Spec(
    "tax_free",
    InvoiceKind.DIGITAL_NORMAL,
    "24312000000000000777",
    date(2024, 6, 1),
    (Line("*图书*技术手册", D("88.00"), "免税", D("0.00"), "本"),),
    seller_name="示例书店有限公司",
)
E_NORMAL = Spec(
    "e_normal",
    InvoiceKind.E_NORMAL,
    "12345678",
    date(2019, 7, 20),
    (Line("*餐饮服务*餐费", D("47.26"), "13%", D("6.14")),),
    code="031001900111",
    check_code="12345678901234567890",
)
E_SPECIAL = Spec(
    "e_special",
    InvoiceKind.E_SPECIAL,
    "87654321",
    date(2021, 5, 6),
    (Line("*运输服务*客运服务费", D("500.00"), "9%", D("45.00")),),
    code="031002000111",
    seller_name="示例出行服务有限公司",
)
RAILWAY = Spec(
    "railway",
    InvoiceKind.RAILWAY,
    "24119100000000123456",
    date(2024, 3, 1),
    seller_name="",
    seller_id="",
    fixed_total=D("553.00"),
    fixed_tax=D("45.66"),
    extra={"passenger": "示例乘客", "train": "G1", "from": "北京南", "to": "上海虹桥"},
)
AIR = Spec(
    "air",
    InvoiceKind.AIR,
    "24319100000000654321",
    date(2024, 4, 2),
    seller_name="示例航空票务有限公司",
    fixed_total=D("1250.00"),
    fixed_tax=D("99.08"),
    extra={"passenger": "示例旅客", "flight": "MU5101", "from": "PEK", "to": "SHA"},
)

ALL_SPECS = (
    DIGITAL_NORMAL,
    DIGITAL_SPECIAL,
    RED_LETTER,
    TAX_FREE,
    E_NORMAL,
    E_SPECIAL,
    RAILWAY,
    AIR,
)
INVOICES = (DIGITAL_NORMAL, DIGITAL_SPECIAL, RED_LETTER, TAX_FREE, E_NORMAL, E_SPECIAL)
TICKETS = (RAILWAY, AIR)
