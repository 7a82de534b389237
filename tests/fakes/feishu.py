"""The fake Feishu the adapter tests use: the emulator's, re-exported (bot/emulator/feishu.py)."""

from bot.emulator.feishu import MAX_CARD_BYTES, Call, Failure, FakeFeishu, Message
from bot.emulator.feishu_callbacks import FeishuCallbacks

__all__ = ["MAX_CARD_BYTES", "Call", "Failure", "FakeFeishu", "FeishuCallbacks", "Message"]
