"""SQLite group commit: the write transactions of one group share a transaction.

:class:`storage.grouping.Grouper` collects the bodies (the statement helpers of one
transaction each) that queue while a group is in aiosqlite's thread; :func:`run_group` runs
them there: one ``BEGIN IMMEDIATE``, each body inside its own savepoint, one ``COMMIT``. Under
load that turns a thread trip, a loop wake-up and a WAL commit per write into one per group.

Each body stays atomic and isolated as before: a body that raises is rolled back to its
savepoint and its caller gets the exception; the others commit. Bodies run in the order they
arrived, each seeing the ones before it, exactly as if they had committed one by one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Sequence
from contextlib import suppress
from typing import Any, TypeVar

from storage.grouping import Outcome
from storage.sqlite_schema import TxConn, drive

T = TypeVar("T")
Body = Callable[[TxConn], Coroutine[Any, Any, T]]


def run_group(conn: sqlite3.Connection, bodies: Sequence[Body[Any]]) -> list[Outcome]:
    """In the connection's own thread: every body in one transaction, each in a savepoint.

    Raises (and commits nothing) only when the transaction itself fails: BEGIN or COMMIT, or a
    body's error after which SQLite has already rolled the whole transaction back.
    """
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[Outcome] = []
    try:
        for body in bodies:
            conn.execute("SAVEPOINT claimbot_write")
            try:
                result = drive(conn, body)
            except Exception as exc:
                if not conn.in_transaction:
                    raise
                conn.execute("ROLLBACK TO claimbot_write")
                conn.execute("RELEASE claimbot_write")
                outcomes.append(Outcome(error=exc))
            else:
                conn.execute("RELEASE claimbot_write")
                outcomes.append(Outcome(result=result))
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):  # "no transaction is active": nothing left to undo
            conn.execute("ROLLBACK")
        raise
    return outcomes
