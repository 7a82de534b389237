"""The fake DingTalk the adapter tests use: the emulator's (bot/emulator/dingtalk.py)."""

from bot.emulator.dingtalk import BATCH_LIMIT, Call, FakeDingtalk
from bot.emulator.dingtalk_callbacks import (
    CARD_TOPIC,
    ROBOT_TOPIC,
    DingtalkSender,
    card_callback_payload,
    robot_payload,
)

__all__ = [
    "BATCH_LIMIT", "CARD_TOPIC", "ROBOT_TOPIC", "Call", "DingtalkSender", "FakeDingtalk",
    "card_callback_payload", "robot_payload",
]
