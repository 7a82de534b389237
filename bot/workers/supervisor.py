"""Supervised background loops: restarted with backoff when they crash, visible in /readyz.

Nothing in the server starts a task it does not own: every loop runs here, and ``stop()``
cancels and awaits them all on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.platforms.retry import backoff_delay

log = logging.getLogger("claimbot.workers")

Loop = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class WorkerState:
    name: str
    running: bool = False
    restarts: int = 0
    last_error: str = ""
    last_crash_at: float = 0.0


class Supervisor:
    def __init__(self, *, base_delay: float = 0.5, max_delay: float = 30.0) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.states: dict[str, WorkerState] = {}
        self._base_delay = base_delay
        self._max_delay = max_delay

    def start(self, name: str, loop: Loop) -> None:
        if name in self._tasks:
            raise ValueError(f"worker {name!r} already started")
        state = WorkerState(name)
        self.states[name] = state
        self._tasks[name] = asyncio.create_task(self._run(loop, state), name=f"worker:{name}")

    async def _run(self, loop: Loop, state: WorkerState) -> None:
        crashes = 0
        while True:
            state.running = True
            started = time.monotonic()
            try:
                await loop()
                log.warning("worker %s returned; restarting", state.name)
            except asyncio.CancelledError:
                state.running = False
                raise
            except Exception as exc:
                log.exception("worker %s crashed", state.name)
                state.last_error = f"{type(exc).__name__}: {exc}"
            state.running = False
            state.restarts += 1
            state.last_crash_at = time.time()
            # A loop that ran a good while before failing starts its backoff afresh.
            crashes = 1 if time.monotonic() - started > 60 else crashes + 1
            await asyncio.sleep(backoff_delay(crashes, self._base_delay, self._max_delay))

    def healthy(self) -> bool:
        return all(state.running for state in self.states.values())

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        for state in self.states.values():
            state.running = False
