"""Redis storage errors name the server without the password in its URL: they reach logs and
operators' terminals (``claimbot outbox``, ``audit verify``) that mask nothing."""

from __future__ import annotations

import socket

import pytest

from storage.base import StorageUnavailable
from storage.redis import RedisStorage

PASSWORD = "hunter2-redis-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("url", [
    f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/0",
    f"redis://default:{PASSWORD}@127.0.0.1:{free_port()}/0",
    f"redis://:{PASSWORD}@127.0.0.1:notaport/0",
])
async def test_an_unreachable_redis_is_reported_without_its_password(url: str) -> None:
    storage = RedisStorage(url)
    with pytest.raises(StorageUnavailable) as failure:
        await storage.open()
    assert PASSWORD not in str(failure.value)
    assert "127.0.0.1" in str(failure.value)
