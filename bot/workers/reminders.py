"""The reminder sweep: every minute, find the approval steps that owe a reminder and send it once.

Two storage primitives keep it to one reminder per due reminder however many instances share
the store. A lease (``reminders``) lets one instance sweep at a time; the others wait and take
over when it stops renewing. And before a reminder is dispatched, :meth:`Storage.mark_seen` on
its key (claim, version, step, number) must answer True, which it does for exactly one caller, so
a sweep that overlaps another (a lease that ran out mid-sweep, two clocks that disagree) still
sends nothing twice. The reminder itself (texts, the card again, an audit entry) is written by
``handlers.reminders.remind`` through a dispatcher in one commit, without touching the claim.

If an instance dies between the mark and the commit, that reminder is lost and the next one
comes an interval later: at most once, never twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from aiohttp import web

from bot.config_model import Config
from bot.directory import OrgService
from bot.dispatcher import Dispatcher, Router
from handlers import reminders as rules
from storage.base import Storage
from storage.common import MAX_LIMIT
from storage.models import Claim, ClaimStatus

log = logging.getLogger("claimbot.reminders")

LEASE = "reminders"
SEEN = "reminder"  # the mark_seen namespace of sent reminders
INTERVAL = 60.0  # seconds between sweeps

Clock = Callable[[], datetime]


class ReminderSweeper:
    def __init__(
        self,
        storage: Storage,
        dispatcher: Dispatcher,
        policy: rules.ReminderPolicy,
        clock: Clock,
        *,
        interval: float = INTERVAL,
    ) -> None:
        self._storage = storage
        self.dispatcher = dispatcher
        self._policy = policy
        self._clock = clock
        self._interval = interval
        self.owner = uuid.uuid4().hex
        self._woken = asyncio.Event()
        # (claim id, version) -> (waiting since, reminder schedule): fixed for a version
        self._waits: dict[tuple[str, int], tuple[datetime, rules.Schedule]] = {}
        # A reminder's number stays the latest for at most an interval plus one quiet night.
        self._seen_ttl = (policy.every + timedelta(days=1, hours=1)).total_seconds()

    def wake(self) -> None:
        """Sweep now instead of at the end of the interval (tests, operators)."""
        self._woken.set()

    async def run(self) -> None:
        try:
            while True:
                if await self._storage.acquire_lease(LEASE, self.owner, self._interval * 3):
                    await self.sweep()
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel
                # that lands as the event is set, and shutdown would hang.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._interval):
                        await self._woken.wait()
                self._woken.clear()
        finally:
            with contextlib.suppress(Exception):  # let another instance take over at once
                await self._storage.release_lease(LEASE, self.owner)

    async def sweep(self) -> int:
        """Send every reminder due now that no one has sent; returns how many this call sent."""
        now = self._clock()
        claims = await self._storage.claims_by_status(ClaimStatus.APPROVING, MAX_LIMIT)
        sent = 0
        for claim in claims:
            sent += await self._visit(claim, now)
        current = {(claim.id, claim.version) for claim in claims}
        self._waits = {key: wait for key, wait in self._waits.items() if key in current}
        return sent

    async def _visit(self, claim: Claim, now: datetime) -> int:
        key = (claim.id, claim.version)
        if key not in self._waits:
            since = await self.waiting_since(claim)
            self._waits[key] = since, rules.schedule(since, self._policy)
        since, progress = self._waits[key]
        progress = rules.advance(progress, now, self._policy)
        self._waits[key] = since, progress
        n = progress.n
        if n == 0:
            return 0
        if not await self._storage.mark_seen(SEEN, rules.reminder_key(claim, n), self._seen_ttl):
            return 0
        try:
            await self.dispatcher.dispatch(rules.reminder_event(claim, n, since))
        except Exception:  # one claim's failure must not hold back the others' reminders
            log.exception("reminder %d of %s failed", n, claim.id)
            return 0
        log.info("reminder %d of %s sent", n, claim.id)
        return 1

    async def waiting_since(self, claim: Claim) -> datetime:
        """When the claim's current step began; step 1's start is in the audit trail."""
        trail = [] if claim.current_step > 0 else await self._storage.audit_trail(claim.id)
        return rules.waiting_since(claim, [e.at for e in trail if e.action == "submitted"])


REMINDERS = web.AppKey("reminders", ReminderSweeper)


def build_sweeper(
    storage: Storage,
    config: Config,
    orgs: Mapping[str, OrgService],
    clock: Clock,
    committed: Callable[[set[str]], None],
) -> ReminderSweeper | None:
    """The sweep ``[approval]`` asks for, or None when reminders are off."""
    policy = rules.ReminderPolicy.from_config(config.approval)
    if policy is None:
        return None
    router = Router()  # its own: the "remind" action must not be reachable from a chat
    router.include(rules.router)
    dispatcher = Dispatcher(router, storage, config, orgs, clock, committed=committed)
    return ReminderSweeper(storage, dispatcher, policy, clock)
