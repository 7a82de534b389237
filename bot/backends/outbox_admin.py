"""``claimbot outbox list | retry ID | retry --all-dead | drop ID``: the queue for operators.

Works on the configured storage directly, so it may run beside a live server: a row brought back
with ``retry`` is due at once and the server's worker picks it up on its next poll.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from bot.config_model import Config
from storage import open_storage
from storage.base import TOPICS, Storage
from storage.models import QueueMessage

ALL_DEAD_LIMIT = 10_000


def add_outbox_parser(commands: Any) -> None:
    """Register ``outbox`` on the CLI's subparsers."""
    outbox = commands.add_parser("outbox", help="list, retry or drop queued rows")
    outbox.add_argument("-c", "--config", required=True, help="path to config.toml")
    actions = outbox.add_subparsers(dest="outbox_command", required=True)
    listing = actions.add_parser("list", help="live rows (or dead-lettered ones), oldest first")
    listing.add_argument("--dead", action="store_true", help="show dead-lettered rows")
    listing.add_argument("--topic", choices=TOPICS, help="only this topic")
    listing.add_argument("--limit", type=int, default=100)
    retry = actions.add_parser("retry", help="bring dead-lettered rows back, due now")
    retry.add_argument("id", nargs="?", help="the row id (see list --dead)")
    retry.add_argument("--all-dead", action="store_true", help="every dead-lettered row")
    retry.add_argument("--topic", choices=TOPICS, help="with --all-dead: only this topic")
    drop = actions.add_parser("drop", help="delete a row for good")
    drop.add_argument("id")


async def run_outbox(config: Config, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    storage = open_storage(config.storage.url, attachment_limit=config.storage.attachment_max_bytes)
    await storage.open()
    try:
        if args.outbox_command == "list":
            return await _list(storage, args, out)
        if args.outbox_command == "retry":
            return await _retry(storage, args, out)
        return await _drop(storage, args.id, out)
    finally:
        await storage.close()


def describe(row: QueueMessage, now: float) -> str:
    payload = row.payload
    what = ""
    if row.topic == "backend":
        what = f"{payload.get('event', '?')} v{payload.get('version', '?')}"
    due = max(0.0, row.available_at - now)
    error = " ".join(row.last_error.split())
    parts = [row.id, row.topic, row.key, what, f"attempts={row.attempts}",
             f"age={now - row.created_at:.0f}s", f"due_in={due:.0f}s" if due else "due"]
    line = "  ".join(p for p in parts if p)
    return f"{line}  error: {error}" if error else line


async def _list(storage: Storage, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    rows = await storage.queue_rows(args.topic, args.dead, max(1, args.limit))
    now = time.time()
    for row in rows:
        out(describe(row, now))
    depth = await storage.queue_depth()
    summary = ", ".join(f"{t}: {live} live, {dead} dead" for t, (live, dead) in depth.items())
    out(f"{len(rows)} {'dead' if args.dead else 'live'} row(s) shown; {summary}")
    return 0


async def _retry(storage: Storage, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    if args.all_dead == bool(args.id):
        out("give a row id, or --all-dead")
        return 2
    if args.id:
        if not await storage.requeue(args.id):
            out(f"no dead-lettered row {args.id}")
            return 1
        out(f"requeued {args.id}")
        return 0
    rows = await storage.queue_rows(args.topic, True, ALL_DEAD_LIMIT)
    done = [row.id for row in rows if await storage.requeue(row.id)]
    out(f"requeued {len(done)} dead-lettered row(s)")
    return 0


async def _drop(storage: Storage, message_id: str, out: Callable[[str], None]) -> int:
    if not await storage.drop(message_id):
        out(f"no row {message_id}")
        return 1
    out(f"dropped {message_id}")
    return 0
