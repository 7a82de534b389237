"""An invoice typed in chat and the same invoice read from its file lock one registry key, so
one invoice cannot back two live claims by being typed on one and uploaded on the other."""

from __future__ import annotations

from bot.einvoice import FileFormat, InvoiceReading, invoice_key
from handlers.items import take_invoice


def test_a_typed_code_and_number_is_the_key_of_the_read_invoice() -> None:
    read = invoice_key(InvoiceReading(FileFormat.PDF, number="12345678", code="044031900111"))
    _, typed = take_invoice("打车 45 昨天 发票 044031900111 12345678")
    assert typed == read


def test_a_typed_digital_number_is_the_key_of_the_read_invoice() -> None:
    read = invoice_key(InvoiceReading(FileFormat.PDF, number="26312000000012345678"))
    _, typed = take_invoice("打车 45 昨天 发票 26312000000012345678")
    assert typed == read
