"""The fake WeCom the adapter tests use: the emulator's, re-exported (see bot/emulator/wecom.py)."""

from bot.emulator.wecom import BAD_PARAMETER, CODE_TTL, Call, FakeWecom, ResponseCode, Sent
from bot.emulator.wecom_callbacks import WecomCallbacks, cdata

__all__ = [
    "BAD_PARAMETER", "CODE_TTL", "Call", "FakeWecom", "ResponseCode", "Sent", "WecomCallbacks",
    "cdata",
]
