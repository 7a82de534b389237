"""Typed reading errors, each with a message a user can be shown in zh-CN and en-US.

The ``detail`` is for logs only (it may name a library's complaint); ``message(lang)`` is what a
chat reply says. Every error means nothing was read and nothing should change.
"""

from __future__ import annotations

from typing import ClassVar


class InvoiceError(Exception):
    """Base of every failure to read an invoice file."""

    code: ClassVar[str] = "invoice_error"
    zh: ClassVar[str] = "无法读取这个发票文件。"
    en: ClassVar[str] = "This invoice file could not be read."

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.en)
        self.detail = detail

    def message(self, lang: str = "zh-CN") -> str:
        """The user-facing sentence in ``lang`` (``zh-CN`` or ``en-US``; others get English)."""
        return self.zh if lang.lower().startswith("zh") else self.en


class UnsupportedFile(InvoiceError):
    """A file type that cannot carry an invoice we read (Word, plain text, audio, …)."""

    code = "unsupported_file"
    zh = "不支持这种文件。请发送发票的 PDF、OFD、XML 文件，或发票二维码的照片/截图。"
    en = (
        "This kind of file is not supported. Please send the invoice as PDF, OFD or XML, "
        "or a photo or screenshot of its QR code."
    )


class BrokenFile(InvoiceError):
    """A file of a known type that is damaged or cut short."""

    code = "broken_file"
    zh = "文件已损坏或不完整，无法打开。请重新下载发票后再发送。"
    en = (
        "The file is damaged or incomplete and cannot be opened. Please download the invoice again."
    )


class FileTooLarge(InvoiceError):
    """A file, or something inside it, over the size limits."""

    code = "file_too_large"
    zh = "文件太大（或解压后太大），无法作为发票读取。"
    en = "The file is too large (or expands to too much) to be read as an invoice."


class HostileFile(InvoiceError):
    """A file built to exhaust a reader: bombs, path tricks, absurd pages."""

    code = "hostile_file"
    zh = "文件结构异常，出于安全原因未读取。请发送税务平台或开票方提供的原始发票文件。"
    en = (
        "The file has an abnormal structure and was not read, for safety. Please send the "
        "original invoice file from the tax platform or the issuer."
    )


class NoInvoiceData(InvoiceError):
    """A readable file in which no invoice (number and amount) was found."""

    code = "no_invoice_data"
    zh = "文件中没有找到发票信息（发票号码和金额）。请发送发票原件，或手动填写金额。"
    en = (
        "No invoice (number and amount) was found in the file. Please send the original "
        "invoice, or enter the amount by hand."
    )
