"""Queue message ids: UUIDv7, so rows made close in time sit close in SQLite's id index."""

from __future__ import annotations

import time
import uuid

from storage.common import new_message_id, new_receipt_token, receipt_message_id


def test_ids_are_version_7_uuids_with_the_current_millisecond_first() -> None:
    before = time.time_ns() // 1_000_000
    text = new_message_id()
    made = uuid.UUID(text)
    after = time.time_ns() // 1_000_000
    assert str(made) == text  # the canonical form, lower-case hex
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after


def test_ids_made_later_sort_later_and_never_repeat() -> None:
    first = new_message_id()
    time.sleep(0.002)
    later = [new_message_id() for _ in range(50_000)]
    assert all(first < other for other in later)
    assert len(set(later)) == len(later)


def test_a_receipt_names_its_message() -> None:
    message_id = new_message_id()
    assert receipt_message_id(f"{message_id}.{new_receipt_token()}") == message_id
