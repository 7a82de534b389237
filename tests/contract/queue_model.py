"""A plain-Python reference of the queue contract, to check both backends against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Row:
    id: str
    key: str
    seq: int
    due_at: float
    attempts: int = 0
    receipt: str = ""
    leased_until: float = 0.0
    dead: bool = False


class QueueModel:
    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self._seq = 0

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def enqueue(self, message_id: str, key: str, now: float, delay: float) -> None:
        self.rows[message_id] = Row(message_id, key, self._next_seq(), now + delay)

    def leasable(self, now: float, limit: int) -> list[str]:
        heads: dict[str, Row] = {}
        for row in sorted(self.rows.values(), key=lambda r: r.seq):
            if not row.dead:
                heads.setdefault(row.key, row)
        due = [row for row in heads.values() if row.due_at <= now]
        return [row.id for row in sorted(due, key=lambda r: (r.due_at, r.seq))[:limit]]

    def lease(self, message_id: str, receipt: str, now: float, visibility: float) -> None:
        row = self.rows[message_id]
        row.attempts += 1
        row.receipt = receipt
        row.leased_until = row.due_at = now + visibility

    def held(self, receipt: str, now: float) -> Row | None:
        for row in self.rows.values():
            if row.receipt == receipt and row.leased_until > now and not row.dead:
                return row
        return None

    def settle(self, kind: str, receipt: str, now: float, delay: float = 0) -> bool:
        row = self.held(receipt, now)
        if row is None:
            return False
        row.receipt, row.leased_until = "", 0.0
        if kind == "ack":
            del self.rows[row.id]
        elif kind == "retry":
            row.due_at = now + delay
        else:
            row.dead = True
        return True

    def hasten(self, now: float) -> int:
        waiting = [
            row for row in self.rows.values()
            if not row.dead and row.attempts > 0 and row.leased_until <= now and row.due_at > now
        ]
        for row in waiting:
            row.due_at = now
        return len(waiting)

    def requeue(self, message_id: str, now: float) -> bool:
        row = self.rows.get(message_id)
        if row is None or not row.dead:
            return False
        row.dead, row.seq, row.due_at, row.attempts = False, self._next_seq(), now, 0
        return True

    def drop(self, message_id: str) -> bool:
        return self.rows.pop(message_id, None) is not None

    def live_ids(self) -> list[str]:
        return [r.id for r in sorted(self.rows.values(), key=lambda r: r.seq) if not r.dead]

    def dead_ids(self) -> list[str]:
        return [r.id for r in sorted(self.rows.values(), key=lambda r: r.seq) if r.dead]
