"""The org chart routing reads: a platform's directory, cached, filled in by the directory file.

:class:`OrgService` answers :class:`handlers.routing.OrgDirectory` for one platform. Answers are
cached per user and per department for ``ttl`` seconds; a person or department the platform does
not know is remembered as missing for the shorter ``negative_ttl``, so a wrong id does not call the
platform on every claim; concurrent lookups of one id share a single call. When the platform
fails (down, rate limited) an expired answer is served rather than none, and with nothing cached
the error propagates so the caller retries later instead of routing to the fallback approver.

The directory file (see :mod:`bot.directory_file`) fills or overrides what the platform says:
its non-empty fields win, its people and departments exist even when the platform lacks them.
A running server notices an edited file by itself: at most every ``FILE_CHECK_SECONDS`` a lookup
compares the file's modification time and size with the loaded one's and reloads it when they
differ; a file that no longer reads is logged and the last good one kept. :meth:`OrgService.refresh`
reloads it at once and forgets every cached answer (``claimbot directory sync``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generic, TypeVar

from bot.directory_file import (
    DepartmentOverride,
    DirectoryFileError,
    DirectoryOverrides,
    PlatformOverrides,
    UserOverride,
    load_directory_file,
)
from bot.platforms.base import (
    Directory,
    DirectoryDepartment,
    DirectoryUser,
    PlatformAPIError,
    TransientAPIError,
)
from handlers.routing import OrgUnit

log = logging.getLogger(__name__)
V = TypeVar("V")
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    expires: float
    value: V | None  # None: the platform does not know this id


class TTLCache(Generic[V]):
    """Per-key TTL cache with negative entries, single-flight loads and stale-on-error."""

    def __init__(self, ttl: float, negative_ttl: float, clock: Clock = time.monotonic) -> None:
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._clock = clock
        self._entries: dict[str, _Entry[V]] = {}
        self._inflight: dict[str, asyncio.Future[V | None]] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every answer; loads already under way do not store theirs."""
        self._entries.clear()
        self._inflight.clear()
        self._generation += 1

    async def get(self, key: str, load: Callable[[], Awaitable[V | None]]) -> V | None:
        entry = self._entries.get(key)
        if entry is not None and self._clock() < entry.expires:
            return entry.value
        while (pending := self._inflight.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if not pending.cancelled() or (current is not None and current.cancelling()):
                    raise
                # the caller that was loading was cancelled, not us: load it ourselves
        return await self._lead(key, load, entry)

    async def _lead(
        self, key: str, load: Callable[[], Awaitable[V | None]], stale: _Entry[V] | None
    ) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        generation = self._generation
        try:
            value = await self._load(key, load, stale, generation)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved here: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    async def _load(
        self, key: str, load: Callable[[], Awaitable[V | None]], stale: _Entry[V] | None,
        generation: int,
    ) -> V | None:
        try:
            value = await load()
        except Exception as exc:
            if stale is None or stale.value is None:
                raise
            log.warning("directory lookup of %s failed, serving the cached answer: %s", key, exc)
            if generation == self._generation:  # keep it briefly: do not hammer a failing API
                self._entries[key] = _Entry(self._clock() + self._negative_ttl, stale.value)
            return stale.value
        ttl = self._ttl if value is not None else self._negative_ttl
        if generation == self._generation:
            self._entries[key] = _Entry(self._clock() + ttl, value)
        return value


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What :meth:`OrgService.refresh` found: for ``claimbot directory sync`` to print."""

    source: str  # the directory file reloaded, or ""
    file_users: int
    file_departments: int
    checked: int  # users looked up on the platform
    unknown_to_platform: tuple[str, ...]  # of those, the ones the platform does not know


FILE_CHECK_SECONDS = 10.0  # how often lookups look at the directory file for an edit


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """What tells an edited file apart: modification time and size; None when there is none."""
    if path is None:
        return None
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


class OrgService:
    """One platform's org chart for routing: the platform directory, cached, plus the file."""

    def __init__(
        self,
        directory: Directory | None,
        *,
        platform: str = "",
        overrides: DirectoryOverrides | None = None,
        overrides_file: str | Path | None = None,
        ttl: float = 600.0,
        negative_ttl: float = 60.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._directory = directory
        self._platform = platform
        self._file = Path(overrides_file) if overrides_file is not None else None
        self._clock = clock
        self._file_seen = _stamp(self._file)  # the file as loaded: (mtime_ns, size)
        self._file_checked = clock()
        if overrides is None and self._file is not None:
            overrides = load_directory_file(self._file)
        self._overrides = (overrides or DirectoryOverrides()).for_platform(platform)
        self._users: TTLCache[DirectoryUser] = TTLCache(ttl, negative_ttl, clock)
        self._departments: TTLCache[DirectoryDepartment] = TTLCache(ttl, negative_ttl, clock)

    @property
    def overrides(self) -> PlatformOverrides:
        return self._overrides

    async def user(self, user_id: str) -> DirectoryUser | None:
        """The person as the platform knows them, the file's fields laid over; None if unknown."""
        if not user_id:
            return None
        await self._follow_file()
        override = self._overrides.users.get(user_id)
        try:
            found = await self._users.get(user_id, lambda: self._fetch_user(user_id))
        except Exception as exc:
            if override is None:
                raise
            log.warning("directory lookup of %s failed, using the directory file: %s", user_id, exc)
            found = None
        return _merge_user(found, override)

    async def unit(self, department_id: str) -> DirectoryDepartment | None:
        if not department_id:
            return None
        await self._follow_file()
        override = self._overrides.departments.get(department_id)
        try:
            found = await self._departments.get(
                department_id, lambda: self._fetch_department(department_id)
            )
        except Exception as exc:
            if override is None:
                raise
            log.warning("department %s lookup failed, using the file: %s", department_id, exc)
            found = None
        return _merge_department(found, override)

    # OrgDirectory, for handlers.routing

    async def manager_of(self, user_id: str) -> str:
        user = await self.user(user_id)
        return user.manager_id if user is not None else ""

    async def name_of(self, user_id: str) -> str:
        user = await self.user(user_id)
        return user.name if user is not None else ""

    async def departments_of(self, user_id: str) -> tuple[str, ...]:
        user = await self.user(user_id)
        return user.department_ids if user is not None else ()

    async def department(self, department_id: str) -> OrgUnit | None:
        found = await self.unit(department_id)
        if found is None:
            return None
        return OrgUnit(found.department_id, found.name, found.leader_ids, found.parent_id)

    async def refresh(self, check: Iterable[str] = (), concurrency: int = 8) -> SyncReport:
        """Reload the directory file, forget every cached answer, and look up ``check`` afresh.

        A malformed file raises :class:`bot.directory_file.DirectoryFileError` and changes nothing.
        """
        if self._file is not None:
            self._overrides = load_directory_file(self._file).for_platform(self._platform)
            self._file_seen = _stamp(self._file)
        self._users.clear()
        self._departments.clear()
        ids = list(dict.fromkeys(check))
        gate = asyncio.Semaphore(max(concurrency, 1))

        async def known(user_id: str) -> bool:
            async with gate:
                return await self._users.get(user_id, lambda: self._fetch_user(user_id)) is not None

        found = await asyncio.gather(*(known(user_id) for user_id in ids))
        return SyncReport(
            source=str(self._file or ""),
            file_users=len(self._overrides.users),
            file_departments=len(self._overrides.departments),
            checked=len(ids),
            unknown_to_platform=tuple(u for u, ok in zip(ids, found, strict=True) if not ok),
        )

    async def _follow_file(self) -> None:
        """Reload the directory file if it changed since it was loaded (checked now and then)."""
        if self._file is None or self._clock() - self._file_checked < FILE_CHECK_SECONDS:
            return
        self._file_checked = self._clock()
        stamp = await asyncio.to_thread(_stamp, self._file)
        if stamp == self._file_seen:
            return
        self._file_seen = stamp  # a broken file is reported once, not on every lookup
        try:
            loaded = await asyncio.to_thread(load_directory_file, self._file)
        except DirectoryFileError as exc:
            log.error("directory file changed but cannot be used, keeping the last good one: %s",
                      exc)
            return
        self._overrides = loaded.for_platform(self._platform)
        log.info("directory file %s reloaded: %d people, %d departments", self._file,
                 len(self._overrides.users), len(self._overrides.departments))

    async def _fetch_user(self, user_id: str) -> DirectoryUser | None:
        if self._directory is None:
            return None
        try:
            return await self._directory.get_user(user_id)
        except TransientAPIError:
            raise
        except PlatformAPIError as exc:
            log.info("directory has no user %s: %s", user_id, exc)
            return None

    async def _fetch_department(self, department_id: str) -> DirectoryDepartment | None:
        if self._directory is None:
            return None
        try:
            return await self._directory.get_department(department_id)
        except TransientAPIError:
            raise
        except PlatformAPIError as exc:
            log.info("directory has no department %s: %s", department_id, exc)
            return None


def _merge_user(found: DirectoryUser | None, override: UserOverride | None) -> DirectoryUser | None:
    if override is None:
        return found
    base = found or DirectoryUser(override.user_id)
    return replace(
        base,
        name=override.name or base.name,
        manager_id=override.manager_id or base.manager_id,
        department_ids=override.department_ids or base.department_ids,
    )


def _merge_department(
    found: DirectoryDepartment | None, override: DepartmentOverride | None
) -> DirectoryDepartment | None:
    if override is None:
        return found
    base = found or DirectoryDepartment(override.department_id)
    return replace(
        base,
        name=override.name or base.name,
        leader_ids=override.head_ids or base.leader_ids,
        parent_id=override.parent_id or base.parent_id,
    )
