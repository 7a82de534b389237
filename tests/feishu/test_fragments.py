"""Reassembling payloads split over several long-connection frames: order, expiry, bounds."""

from __future__ import annotations

import pytest

from bot.platforms.feishu import fragments
from bot.platforms.feishu.fragments import FragmentError, Reassembler


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_single_part_is_the_whole_payload() -> None:
    assert Reassembler().add("m", 1, 0, b"all") == b"all"


def test_parts_in_any_order_make_the_payload_once() -> None:
    parts = Reassembler()
    assert parts.add("m", 3, 2, b"c") is None
    assert parts.add("m", 3, 0, b"a") is None
    assert parts.add("m", 3, 0, b"a") is None  # a repeated part replaces the first
    assert parts.add("m", 3, 1, b"b") == b"abc"
    assert len(parts) == 0


def test_messages_are_kept_apart() -> None:
    parts = Reassembler()
    assert parts.add("m1", 2, 0, b"a") is None
    assert parts.add("m2", 2, 1, b"y") is None
    assert parts.add("m1", 2, 1, b"b") == b"ab"
    assert parts.add("m2", 2, 0, b"x") == b"xy"


def test_an_incomplete_message_is_forgotten_after_the_ttl() -> None:
    clock = Clock()
    parts = Reassembler(ttl=5.0, clock=clock)
    assert parts.add("m", 2, 0, b"a") is None
    clock.now = 6.0
    assert parts.add("m", 2, 1, b"b") is None  # the first part expired
    assert len(parts) == 1


def test_a_changed_sum_starts_the_message_over() -> None:
    parts = Reassembler()
    assert parts.add("m", 2, 0, b"a") is None
    assert parts.add("m", 3, 0, b"x") is None
    assert parts.add("m", 3, 1, b"y") is None
    assert parts.add("m", 3, 2, b"z") == b"xyz"


@pytest.mark.parametrize(
    ("total", "seq", "reason"),
    [(0, 0, "sum 0"), (fragments.MAX_PARTS + 1, 0, "sum"), (2, 2, "seq 2"), (2, -1, "seq -1")],
)
def test_nonsense_sum_or_seq_is_refused(total: int, seq: int, reason: str) -> None:
    with pytest.raises(FragmentError, match=reason):
        Reassembler().add("m", total, seq, b"x")


def test_sizes_and_pending_counts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fragments, "MAX_MESSAGE_BYTES", 10)
    monkeypatch.setattr(fragments, "MAX_PENDING", 2)
    parts = Reassembler()
    assert parts.add("m", 2, 0, b"x" * 6) is None
    with pytest.raises(FragmentError, match="exceeds 10 bytes"):
        parts.add("m", 2, 1, b"x" * 6)
    assert len(parts) == 0  # the oversized message is dropped
    parts.add("a", 2, 0, b"1")
    parts.add("b", 2, 0, b"1")
    with pytest.raises(FragmentError, match="more than 2"):
        parts.add("c", 2, 0, b"1")
    assert parts.add("a", 2, 1, b"2") == b"12"  # known messages still complete
