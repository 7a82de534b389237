"""One e-invoice journey, run on each platform through its real callbacks (tests/filing/drive.py).

张三 sends a 数电票 as PDF: the draft comes prefilled (amount = 价税合计, date, category
guessed from the line items, invoice number) and he submits it. 钱七 sends the same invoice
as OFD in a claim of her own: her draft carries the same invoice, and her submit is refused
naming 张三's claim.
What each of them got is read at the platform's fake.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from bot.config_model import CompanyConfig
from tests.einvoice.gen_ofd import invoice_ofd
from tests.einvoice.gen_pdf import invoice_pdf
from tests.einvoice.specs import COMPANY_ID, COMPANY_NAME, DIGITAL_NORMAL, Spec
from tests.filing.drive import Driver, Seen

# Issued a few days ago, so the date is plausible whenever the suite runs.
LUNCH: Spec = replace(DIGITAL_NORMAL, issued=date.today() - timedelta(days=3),
                      number="26312000000000000077")


def with_company(driver: Driver) -> None:
    """The fixtures' buyer is the company (before ``start``)."""
    driver.config = replace(driver.config, company=CompanyConfig(COMPANY_NAME, COMPANY_ID))


def assert_prefilled(draft: Seen) -> None:
    """The draft card shows what the invoice says."""
    assert f"¥{LUNCH.total}" in draft.text, draft.text
    assert LUNCH.issued.isoformat() in draft.text, draft.text
    assert "餐费" in draft.text, draft.text
    assert LUNCH.number in draft.text, draft.text
    assert draft.attachments == 1, draft.text


async def refused_as_ofd(d: Driver, holder: Seen) -> str:
    """钱七 sends the same invoice as OFD: her draft carries it, her submit is refused naming
    ``holder`` (张三's claim), and nothing moves; returns the refusal as she was told it."""
    await d.send_file("qianqi", invoice_ofd(LUNCH), "发票.ofd")
    second = d.last_card("qianqi", "claim_draft")
    assert second.claim_id != holder.claim_id
    assert_prefilled(second)
    answer = await d.click("qianqi", second, "submit:")
    refused = d.texts_to("qianqi")[-1]
    assert holder.claim_id in refused and "张三" in refused, refused
    assert answer.toast and refused.startswith(answer.toast.rstrip("…")), answer.toast
    # Nothing moved: 钱七's claim is still a draft, 李四 was asked about 张三's claim only.
    assert d.last_card("qianqi", "claim_draft").claim_id == second.claim_id
    assert [c.claim_id for c in d.cards_to("lisi", "approval_request")] == [holder.claim_id]
    return refused


async def submitted(d: Driver, draft: Seen) -> None:
    """张三 submits: 李四 is asked to approve, showing the invoice."""
    await d.click("zhangsan", draft, "submit:")
    request = d.last_card("lisi", "approval_request")
    assert request.claim_id == draft.claim_id and f"¥{LUNCH.total}" in request.text
    assert LUNCH.number in request.text
    assert d.cards_to("zhangsan", "claim_draft") == []


async def pdf_then_same_invoice_as_ofd(d: Driver) -> tuple[Seen, str]:
    """The journey; returns 张三's submitted draft and the message that refused 钱七."""
    await d.send_file("zhangsan", invoice_pdf(LUNCH), "发票.pdf")
    told = d.texts_to("zhangsan")[-1]
    assert told.startswith(
        f"已从发票读取：数电普票 示例餐饮管理有限公司 ¥{LUNCH.total}（{LUNCH.issued.isoformat()}）"
    ), told
    assert "按“*餐饮服务*”判断为 餐费" in told, told
    draft = d.last_card("zhangsan", "claim_draft")
    assert_prefilled(draft)

    await submitted(d, draft)
    return draft, await refused_as_ofd(d, draft)


async def unreadable_files_change_nothing(d: Driver, *, named: bool = True) -> None:
    """A truncated invoice and a file that is no receipt each get a message, and no claim."""
    await d.send_file("zhangsan", invoice_pdf(LUNCH)[:400], "发票.pdf")
    assert d.texts_to("zhangsan") == ["文件已损坏或不完整，无法打开。请重新下载发票后再发送。"]
    await d.send_file("zhangsan", b"PK\x03\x04 not an OFD", "发票.ofd")
    await d.send_file("zhangsan", b"%!PS-Adobe-3.0 not a receipt", "发票.ps")
    told = d.texts_to("zhangsan")
    assert len(told) == 3, told
    assert told[2] == ("无法识别文件“发票.ps”：" if named else "无法识别文件：") + (
        "请发送图片（JPG/PNG）、PDF、OFD 或 XML 票据。")
    assert d.cards_to("zhangsan") == []
