"""Redis script calls in groups: the calls that queue while one pipeline is out share the next.

:class:`storage.grouping.Grouper` collects the calls; :func:`run_group` sends them as one
pipeline without MULTI, so under load one round trip (and one loop wake-up to read it) serves
many callers. Each script stays atomic on its own and runs exactly as it would alone: nothing
in a group depends on another call of the same group, since their callers were concurrent.

A reply that is an error (a script's own error, WRONGTYPE, …) answers only its own call. The
pipeline sends EVALSHA directly rather than through redis-py's pipeline script loading, which
costs a SCRIPT EXISTS round trip before every pipeline: a NOSCRIPT reply (after SCRIPT FLUSH or
a Redis restart) means that call did not run, so its script is loaded and the call sent again.
A group of one (the usual case at rest) is a plain EVALSHA, which reloads its script likewise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from storage.base import StorageError
from storage.grouping import Outcome


@dataclass(frozen=True, slots=True)
class ScriptCall:
    script: AsyncScript
    args: tuple[str | int, ...]


async def run_group(client: aioredis.Redis, calls: Sequence[ScriptCall]) -> list[Outcome]:
    """One outcome per call; raises (for every caller) only when the whole group failed."""
    if len(calls) == 1:  # at rest: a pipeline's bookkeeping costs more than the call itself
        return [Outcome(result=await calls[0].script(args=calls[0].args, client=client))]
    replies = await _pipeline(client, calls)
    again = [n for n, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
    if again:
        for script in {calls[n].script for n in again}:
            await client.script_load(script.script)
        for n, reply in zip(again, await _pipeline(client, [calls[n] for n in again]), strict=True):
            replies[n] = reply
    return [_outcome(reply) for reply in replies]


async def _pipeline(client: aioredis.Redis, calls: Sequence[ScriptCall]) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    for call in calls:
        pipe.evalsha(call.script.sha, 0, *call.args)
    replies: list[Any] = await pipe.execute(raise_on_error=False)
    return replies


def _outcome(reply: Any) -> Outcome:
    if isinstance(reply, RedisError):
        error = StorageError(f"Redis: {reply}")
        error.__cause__ = reply
        return Outcome(error=error)
    return Outcome(result=reply)
