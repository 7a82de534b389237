"""After each fault test, end the servers and redis-servers it started and left running."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.faults.support import CHILDREN


@pytest.fixture(autouse=True)
async def _reap_children() -> AsyncIterator[None]:
    yield
    while CHILDREN:
        child = CHILDREN.pop()
        if child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
