"""The demo's organisation and rules: four people on every platform, and the config that wires
the real server to the emulator with fresh random credentials for each run."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    BackendConfig,
    CategoryConfig,
    CategoryFieldConfig,
    CompanyConfig,
    Config,
    DingtalkConfig,
    FeishuConfig,
    FinanceConfig,
    ServerConfig,
    StorageConfig,
    WecomConfig,
)

PLATFORMS = ("feishu", "wecom", "dingtalk")
MAX_BODY_BYTES = 8 * 1024 * 1024  # a receipt photo from the page arrives base64 in one request


@dataclass(frozen=True, slots=True)
class Person:
    key: str  # the WeCom / DingTalk userid; Feishu's open_id is ``ou_<key>``
    name: str
    role: str
    manager: str = ""
    department: str = "market"

    def user_id(self, platform: str) -> str:
        return f"ou_{self.key}" if platform == "feishu" else self.key


PEOPLE = (
    Person("zhangsan", "张三", "员工 · 市场部", manager="lisi"),
    Person("lisi", "李四", "经理 · 张三的上级", manager="wangwu"),
    Person("wangwu", "王五", "市场部负责人"),
    Person("zhaoliu", "赵六", "财务", department="finance"),
)
DEPARTMENTS = {"market": ("市场部", "wangwu"), "finance": ("财务部", "zhaoliu")}
FINANCE = "zhaoliu"


def person(platform: str, user_id: str) -> Person | None:
    return next((p for p in PEOPLE if p.user_id(platform) == user_id), None)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Fresh for each demo run: the emulator seals with them, the server verifies with them."""

    feishu_app_id: str
    feishu_secret: str
    feishu_token: str
    feishu_encrypt_key: str
    wecom_corp_id: str
    wecom_secret: str
    wecom_token: str
    wecom_aes_key: str
    dingtalk_client_id: str
    dingtalk_secret: str

    @classmethod
    def fresh(cls) -> Credentials:
        return cls(
            feishu_app_id="cli_demo" + _letters(12),
            feishu_secret=secrets.token_urlsafe(24),
            feishu_token=_letters(22),
            feishu_encrypt_key=_letters(32),
            wecom_corp_id="wwdemo" + _letters(12).lower(),
            wecom_secret=secrets.token_urlsafe(24),
            wecom_token=_letters(24),
            wecom_aes_key=_letters(43),
            dingtalk_client_id="dingdemo" + _letters(12).lower(),
            dingtalk_secret=secrets.token_urlsafe(32),
        )


def _letters(count: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(count))


CATEGORIES = (
    CategoryConfig("taxi", "交通-打车", ("打车", "出租车", "滴滴", "网约车", "taxi"),
                   max_per_item=Decimal("300.00"), max_age_days=90),
    CategoryConfig("meal", "餐费", ("午餐", "晚餐", "餐补", "吃饭", "meal"),
                   max_per_item=Decimal("100.00"), max_age_days=90),
    CategoryConfig("travel", "差旅", ("出差", "机票", "火车票", "高铁", "酒店", "住宿", "travel"),
                   max_per_item=Decimal("5000.00"), max_age_days=180,
                   fields=(CategoryFieldConfig("from_city", "出发地"),
                           CategoryFieldConfig("to_city", "目的地"))),
    CategoryConfig("entertainment", "业务招待", ("招待", "请客", "宴请", "客户餐"),
                   max_per_item=Decimal("2000.00"), receipt_required_above=Decimal("200.00"),
                   fields=(CategoryFieldConfig("guests", "人数", "number"),)),
    CategoryConfig("office", "办公用品", ("办公", "文具", "耗材", "office"),
                   max_per_item=Decimal("1000.00")),
)
STEPS = (
    ApprovalStepConfig("直属上级", "manager"),
    ApprovalStepConfig("部门负责人", "department_head", min_amount=Decimal("5000.00")),
    ApprovalStepConfig("财务审核", "finance", min_amount=Decimal("1000.00")),
)


@dataclass(frozen=True, slots=True)
class ApiUrls:
    feishu: str
    wecom: str
    dingtalk: str


def demo_config(
    creds: Credentials, urls: ApiUrls, database: Path, host: str, port: int
) -> Config:
    """The real server's config: every platform on, against the emulator, SQLite in ``database``."""
    return Config(
        server=ServerConfig(host=host, port=port, max_body_bytes=MAX_BODY_BYTES),
        storage=StorageConfig(url=f"sqlite:///{database.resolve()}"),
        feishu=FeishuConfig(creds.feishu_app_id, creds.feishu_secret, creds.feishu_token,
                            creds.feishu_encrypt_key, base_url=urls.feishu),
        wecom=WecomConfig(creds.wecom_corp_id, 1000002, creds.wecom_secret, creds.wecom_token,
                          creds.wecom_aes_key, base_url=urls.wecom),
        dingtalk=DingtalkConfig(creds.dingtalk_client_id, creds.dingtalk_secret, mode="stream",
                                card_template_id="claimbot-demo.schema", base_url=urls.dingtalk,
                                oapi_base_url=urls.dingtalk),
        company=CompanyConfig("示例科技有限公司", "91110000MA01ABCD1M"),
        backend=BackendConfig(kind="none"),
        finance=FinanceConfig(feishu=("ou_" + FINANCE,), wecom=(FINANCE,), dingtalk=(FINANCE,)),
        categories=CATEGORIES,
        approval=ApprovalConfig(steps=STEPS),
    )
