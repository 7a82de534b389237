"""Storage backends behind one protocol; :func:`open_storage` picks one from a URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from storage.base import InvalidInput, Storage

__all__ = ["Storage", "open_storage"]


def open_storage(url: str, **kw: Any) -> Storage:
    """Build (but do not open) the backend ``url`` names.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` and ``redis://host:port/db``
    (or ``rediss://``); keyword arguments go to the backend (``clock``, ``attachment_limit``,
    and ``prefix`` for Redis).
    """
    if not isinstance(url, str) or not url:
        raise InvalidInput(f"storage url must be a non-empty string, got {url!r}")
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise InvalidInput(f"sqlite url needs a path, e.g. sqlite:///claimbot.db: {url!r}")
        from storage.sqlite import SqliteStorage

        return SqliteStorage(path, **kw)
    if scheme in {"redis", "rediss", "unix"}:
        from storage.redis import RedisStorage

        return RedisStorage(url, **kw)
    raise InvalidInput(
        f"unknown storage url scheme {scheme!r} in {url!r}; use sqlite:// or redis://"
    )
