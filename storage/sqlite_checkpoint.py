"""WAL checkpoints in the background, so that no commit waits for one.

Left to itself, SQLite checkpoints inside whichever COMMIT takes the WAL past
``wal_autocheckpoint`` pages (1,000 by default): that commit copies the WAL back into the
database file and syncs both before its caller hears "done", and every write queued behind it
waits too. Here a second connection runs PASSIVE checkpoints on a thread of its own soon after
writes instead. PASSIVE never blocks readers or writers and never waits for a lock, and the
sqlite3 module releases the GIL while SQLite copies, so the copy runs beside the event loop on
another core. The main connection keeps its automatic checkpoint only as a backstop at
:data:`BACKSTOP_PAGES`, for when this cannot keep up or has stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("claimbot.storage")

BACKSTOP_PAGES = 10_000  # ~40 MB of WAL before a commit checkpoints by itself
PAUSE = 0.02  # seconds between checkpoints (bench/wal.py: longer ones stall writers longer)


class WalCheckpointer:
    """Copies the WAL back into the database file shortly after writes.

    :meth:`wrote` is called after each commit; one task waits for it, runs a checkpoint in the
    checkpointer's own thread, pauses :data:`PAUSE` and waits again. A failed checkpoint is
    logged and changes nothing: the WAL keeps the data, and the next one (or the backstop)
    copies it.
    """

    def __init__(self, path: str, *, pause: float = PAUSE) -> None:
        self._path = path
        self._pause = pause
        self._wrote = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.passes = 0  # checkpoints run (tests, diagnostics)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="sqlite-checkpoint")

    def wrote(self) -> None:
        self._wrote.set()

    async def close(self) -> None:
        """Stop, after any checkpoint under way has finished, and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._disconnect)
        self._thread.shutdown(wait=False)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wrote.wait()
            self._wrote.clear()
            # Shielded: a cancel (close) waits for a checkpoint under way instead of leaving it
            # running on a connection that close() is about to take away.
            work = loop.run_in_executor(self._thread, self._checkpoint)
            try:
                await asyncio.shield(work)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await work
                raise
            except Exception as exc:  # logged: the next pass, or the backstop, copies the WAL
                log.warning("background WAL checkpoint of %s failed: %s: %s", self._path,
                            type(exc).__name__, exc)
            await asyncio.sleep(self._pause)

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(self._path, isolation_level=None,
                                         check_same_thread=False)
        busy, frames, copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.passes += 1
        log.debug("WAL checkpoint: %d of %d frames copied%s", copied, frames,
                  " (another checkpoint held the lock)" if busy else "")

    def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
